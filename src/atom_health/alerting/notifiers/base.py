"""What every notifier does: send one alert event, or raise :class:`DeliveryError`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

from atom_health.model.alerts import AlertEvent


class DeliveryError(Exception):
    """A delivery that failed; the message is safe to store (no secret, no URL)."""


class Notifier(Protocol):
    name: str
    routes: list[str]

    async def send(self, event: AlertEvent, dashboard_url: str) -> None: ...


def payload(event: AlertEvent, dashboard_url: str) -> dict[str, Any]:
    """The alert as JSON data, shared by the notifiers that send JSON. ``idempotency_key`` is
    the same on every delivery of one event: a receiver drops a key it has seen."""
    alert = event.alert

    def iso(moment: float | None) -> str | None:
        return datetime.fromtimestamp(moment, UTC).isoformat() if moment is not None else None

    return {
        "idempotency_key": event.idempotency_key,
        "action": event.action,
        "sent_at": iso(event.at),
        "dashboard_url": dashboard_url,
        "alert": {
            "id": alert.id, "key": alert.key, "kind": alert.kind.value, "services": alert.services,
            "severity": alert.severity, "route": alert.route, "title": alert.title,
            "message": alert.message, "opened_at": iso(alert.opened_at),
            "resolved_at": iso(alert.resolved_at), "acknowledged_by": alert.acknowledged_by,
        },
    }  # fmt: skip


def payload_bytes(event: AlertEvent, dashboard_url: str) -> bytes:
    return json.dumps(payload(event, dashboard_url), separators=(",", ":")).encode()


def headline(event: AlertEvent) -> str:
    marks = {"opened": "🔴", "updated": "🔶", "reminder": "🔁", "resolved": "✅"}
    word = {"opened": "", "updated": "updated: ", "reminder": "still: ", "resolved": "resolved: "}[
        event.action
    ]
    return f"{marks[event.action]} {word}{event.alert.title}"
