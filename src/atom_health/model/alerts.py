"""Alerts, the events that send them, and delivery attempts."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Action = Literal["opened", "resolved", "reminder"]


@dataclass
class Alert:
    key: str  # stable identity, e.g. "down:zoom", "group", "vendor:stripe"
    kind: str  # down | group | vendor | config | latency | flapping
    services: list[str]
    severity: Literal["critical", "warning", "info"]
    route: Literal["own", "vendor"]
    title: str
    message: str
    opened_at: float
    resolved_at: float | None = None
    last_sent_at: float | None = None
    id: int | None = None

    def snapshot(self) -> Alert:
        return replace(self, services=list(self.services))


@dataclass(frozen=True)
class AlertEvent:
    alert: Alert
    action: Action
    at: float
    silenced_by: str | None = None  # the maintenance window that silences it


@dataclass(frozen=True)
class Delivery:
    alert_id: int
    notifier: str
    action: str
    attempt: int
    at: float
    ok: bool
    error: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
