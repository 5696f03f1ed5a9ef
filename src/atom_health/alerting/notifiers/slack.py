"""Slack incoming webhook: a readable message with status, reason and a dashboard link.

The webhook URL is a secret; it is read from the variable ``url_env`` names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from atom_health.alerting.notifiers.base import DeliveryError, headline
from atom_health.config.alerting import SlackNotifier
from atom_health.model.alerts import AlertEvent


def slack_message(event: AlertEvent, dashboard_url: str) -> dict[str, Any]:
    alert = event.alert
    services = ", ".join(alert.services)
    context = (
        f"{alert.severity} · {alert.route} · {services} · <{dashboard_url}|open the dashboard>"
    )
    return {
        "text": f"{headline(event)}: {alert.message}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": headline(event)[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": alert.message[:2900]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


class Slack:
    def __init__(self, settings: SlackNotifier, environ: Mapping[str, str] = os.environ) -> None:
        self.settings = settings
        self.environ = environ
        self.name = "slack"
        self.routes: list[str] = list(settings.routes)

    async def send(self, event: AlertEvent, dashboard_url: str) -> None:
        url = self.environ.get(self.settings.url_env, "")
        if not url:
            raise DeliveryError(f"{self.settings.url_env} is not set")
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout_seconds) as client:
                answer = await client.post(url, json=slack_message(event, dashboard_url))
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Slack webhook unreachable ({type(exc).__name__})") from None
        if not answer.is_success:
            raise DeliveryError(f"Slack webhook answered HTTP {answer.status_code}")
