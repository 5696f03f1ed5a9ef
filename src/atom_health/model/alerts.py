"""Alerts, the events that send them, the outbox of notifications, delivery attempts and
silences."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

Action = Literal["opened", "updated", "reminder", "resolved"]
Severity = Literal["critical", "warning", "info"]
AlertRoute = Literal["own", "vendor"]
# pending: waiting for (another) attempt; delivered: a notifier accepted it; dropped: past
# the outbox bound, or its notifier is no longer configured; silenced: never to be sent.
AlertState = Literal["open", "resolved", "acknowledged"]  # acknowledged: open and acked
NotificationState = Literal["pending", "delivered", "dropped", "silenced"]


class AlertKind(StrEnum):
    down = "down"
    group = "group"
    vendor = "vendor"
    config = "config"
    latency = "latency"
    flapping = "flapping"


@dataclass
class Alert:
    key: str  # stable identity while open, e.g. "down:zoom", "group", "vendor:stripe"
    kind: AlertKind
    services: list[str]
    severity: Severity
    route: AlertRoute
    title: str
    message: str
    opened_at: float
    resolved_at: float | None = None
    last_sent_at: float | None = None  # the reminder schedule counts from here
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    ack_comment: str | None = None
    id: int | None = None

    def snapshot(self) -> Alert:
        return replace(self, services=list(self.services))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(**{**data, "kind": AlertKind(data["kind"])})


@dataclass(frozen=True)
class AlertEvent:
    alert: Alert
    action: Action
    at: float
    silenced_by: str | None = None  # the maintenance window or silence that mutes it
    idempotency_key: str = ""  # the same on every delivery of this event, to every receiver

    def to_json(self) -> str:
        body = {"alert": self.alert.to_dict(), "action": self.action, "at": self.at,
                "idempotency_key": self.idempotency_key}  # fmt: skip
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> AlertEvent:
        body = json.loads(text)
        return cls(
            Alert.from_dict(body["alert"]),
            body["action"],
            body["at"],
            idempotency_key=body["idempotency_key"],
        )


@dataclass
class Notification:
    """One row of the outbox: one alert event for one notifier, delivered at least once."""

    alert_id: int
    notifier: str
    action: Action
    idempotency_key: str
    payload: str  # the event as JSON (:meth:`AlertEvent.to_json`), as it was when it happened
    created_at: float
    next_attempt_at: float
    state: NotificationState = "pending"
    attempts: int = 0
    delivered_at: float | None = None
    last_error: str | None = None
    claimed_by: str | None = None  # the process sending it now (replicas share the outbox)
    claimed_until: float | None = None
    id: int | None = None

    def event(self) -> AlertEvent:
        return AlertEvent.from_json(self.payload)


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt of a notification."""

    notification_id: int
    alert_id: int
    notifier: str
    action: str
    attempt: int
    at: float
    ok: bool
    error: str | None = None


@dataclass(frozen=True)
class AlertChange:
    """What one step of the rules changed, written in one transaction: the events (each
    alert saved as in its event, with a notification per notifier) and the rules' memory."""

    events: list[tuple[AlertEvent, list[Notification]]] = field(default_factory=list)
    rule_states: dict[str, str] = field(default_factory=dict)  # integration -> JSON


@dataclass
class Silence:
    """Mutes notifications for alerts on these integrations until ``ends_at`` (Alertmanager's
    silences: matchers, start, end, author and comment)."""

    integrations: list[str]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    created_at: float
    id: int | None = None

    def active(self, moment: float) -> bool:
        return self.starts_at <= moment < self.ends_at

    def matches(self, services: list[str]) -> bool:
        return any(s in self.integrations for s in services)


def alert_matches(
    alert: Alert,
    state: AlertState | None,
    integration: str | None,
    since: float | None,
    until: float | None,
) -> bool:
    """The filter of ``GET /api/alerts``, for stores that filter in Python."""
    if state == "open" and alert.resolved_at is not None:
        return False
    if state == "resolved" and alert.resolved_at is None:
        return False
    if state == "acknowledged" and (alert.resolved_at is not None or alert.acknowledged_at is None):
        return False
    if integration is not None and integration not in alert.services:
        return False
    if since is not None and alert.opened_at < since:
        return False
    return until is None or alert.opened_at < until
