"""Generic webhook: the alert as JSON, signed with HMAC-SHA256 when a secret is configured.

Headers: ``X-Atom-Health-Timestamp`` and ``X-Atom-Health-Signature: sha256=<hex>``, the HMAC
of ``<timestamp>.<body>`` with the secret (from the variable ``secret_env`` names), and
``Idempotency-Key``: the same on every delivery of one alert event.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Mapping

import httpx

from atom_health.alerting.notifiers.base import DeliveryError, payload_bytes
from atom_health.config.alerting import WebhookNotifier
from atom_health.model.alerts import AlertEvent


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class Webhook:
    def __init__(self, settings: WebhookNotifier, environ: Mapping[str, str] = os.environ) -> None:
        self.settings = settings
        self.environ = environ
        self.name = "webhook"
        self.routes: list[str] = list(settings.routes)

    async def send(self, event: AlertEvent, dashboard_url: str) -> None:
        body = payload_bytes(event, dashboard_url)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "atom-health-alerts",
            "Idempotency-Key": event.idempotency_key,
        }
        secret = self.environ.get(self.settings.secret_env or "", "")
        if secret:
            stamp = str(int(time.time()))
            headers["X-Atom-Health-Timestamp"] = stamp
            headers["X-Atom-Health-Signature"] = signature(secret, stamp, body)
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout_seconds) as client:
                answer = await client.post(self.settings.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable ({type(exc).__name__})") from None
        if not answer.is_success:
            raise DeliveryError(f"webhook answered HTTP {answer.status_code}")
