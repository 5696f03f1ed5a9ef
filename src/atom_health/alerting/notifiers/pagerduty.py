"""PagerDuty Events API v2 (``POST {url}/v2/enqueue``), natively.

The alert's key (e.g. ``down:zoom``) is the ``dedup_key``: an opened alert and its reminders
trigger the same PagerDuty alert, and resolving it sends ``event_action: resolve`` with that
key, which closes it. The routing (integration) key is a secret, read from the variable
``routing_key_env`` names; it is never logged or stored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from atom_health.alerting.notifiers.base import DeliveryError, headline
from atom_health.config.alerting import PagerDutyNotifier
from atom_health.model.alerts import AlertEvent

DEDUP_KEY_MAX, SUMMARY_MAX = 255, 1024  # the Events API's limits


def pagerduty_event(
    event: AlertEvent, routing_key: str, source: str, dashboard_url: str
) -> dict[str, Any]:
    alert = event.alert
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "dedup_key": alert.key[:DEDUP_KEY_MAX],
        "event_action": "resolve" if event.action == "resolved" else "trigger",
    }
    if event.action != "resolved":
        body["payload"] = {
            "summary": f"{headline(event)}: {alert.message}"[:SUMMARY_MAX],
            "source": source,
            "severity": alert.severity,  # critical | warning | info, as PagerDuty names them
            "component": ", ".join(alert.services),
            "class": alert.kind,
            "custom_details": {
                "services": alert.services,
                "route": alert.route,
                "message": alert.message,
            },
        }
        body["client"] = "atom-health"
        body["client_url"] = dashboard_url
        body["links"] = [{"href": dashboard_url, "text": "atom-health dashboard"}]
    return body


class PagerDuty:
    def __init__(
        self, settings: PagerDutyNotifier, environ: Mapping[str, str] = os.environ
    ) -> None:
        self.settings = settings
        self.environ = environ
        self.name = "pagerduty"
        self.routes: list[str] = list(settings.routes)

    async def send(self, event: AlertEvent, dashboard_url: str) -> None:
        routing_key = self.environ.get(self.settings.routing_key_env, "")
        if not routing_key:
            raise DeliveryError(f"{self.settings.routing_key_env} is not set")
        body = pagerduty_event(event, routing_key, self.settings.source, dashboard_url)
        url = f"{self.settings.url.rstrip('/')}/v2/enqueue"
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout_seconds) as client:
                answer = await client.post(url, json=body)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"PagerDuty unreachable ({type(exc).__name__})") from None
        if answer.status_code != 202:
            raise DeliveryError(f"PagerDuty answered HTTP {answer.status_code}")
