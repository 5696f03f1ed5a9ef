"""The alert bodies: stored alerts with their notifications and delivery attempts, silences,
active maintenance."""

from __future__ import annotations

import time
from collections.abc import Sequence

from atom_health.model.alerts import Alert, AlertState, Notification, NotificationState, Silence
from atom_health.model.history import from_epoch
from atom_health.model.results import (
    Acknowledgement,
    AlertItem,
    AlertsReport,
    DeliveryItem,
    NotificationItem,
    NotificationsReport,
    SilenceItem,
    utc_now,
)
from atom_health.store.base import Store
from atom_health.web.parts import SystemParts


def notification_items(store: Store, found: Sequence[Notification]) -> list[NotificationItem]:
    attempts: dict[int, list[DeliveryItem]] = {}
    for d in store.deliveries([n.id for n in found if n.id is not None]):
        attempts.setdefault(d.notification_id, []).append(
            DeliveryItem(
                notifier=d.notifier,
                action=d.action,
                attempt=d.attempt,
                at=from_epoch(d.at),
                ok=d.ok,
                error=d.error,
            )
        )
    return [
        NotificationItem(
            id=n.id or 0,
            alert_id=n.alert_id,
            notifier=n.notifier,
            action=n.action,
            state=n.state,
            idempotency_key=n.idempotency_key,
            created_at=from_epoch(n.created_at),
            attempts=n.attempts,
            next_attempt_at=from_epoch(n.next_attempt_at) if n.state == "pending" else None,
            delivered_at=from_epoch(n.delivered_at) if n.delivered_at is not None else None,
            last_error=n.last_error,
            deliveries=attempts.get(n.id or 0, []),
        )
        for n in found
    ]


def alert_item(alert: Alert, notifications: list[NotificationItem]) -> AlertItem:
    acknowledged = (
        Acknowledgement(
            at=from_epoch(alert.acknowledged_at),
            by=alert.acknowledged_by or "",
            comment=alert.ack_comment or "",
        )
        if alert.acknowledged_at is not None and alert.resolved_at is None
        else None
    )
    return AlertItem(
        id=alert.id or 0,
        key=alert.key,
        kind=alert.kind.value,
        services=alert.services,
        severity=alert.severity,
        route=alert.route,
        title=alert.title,
        message=alert.message,
        opened_at=from_epoch(alert.opened_at),
        resolved_at=from_epoch(alert.resolved_at) if alert.resolved_at is not None else None,
        open=alert.resolved_at is None,
        acknowledged=acknowledged,
        notifications=notifications,
    )


def silence_item(silence: Silence, now: float) -> SilenceItem:
    return SilenceItem(
        id=silence.id or 0,
        integrations=silence.integrations,
        starts_at=from_epoch(silence.starts_at),
        ends_at=from_epoch(silence.ends_at),
        created_by=silence.created_by,
        comment=silence.comment,
        created_at=from_epoch(silence.created_at),
        active=silence.active(now),
    )


def alerts_report(
    system: SystemParts,
    state: AlertState | None,
    integration: str | None,
    since: float | None,
    until: float | None,
    limit: int,
    offset: int,
) -> AlertsReport:
    store = system.store
    found, total = store.alerts(state=state, integration=integration, since=since, until=until,
                                limit=limit, offset=offset)  # fmt: skip
    notifications, _ = store.notifications(alert_ids=[a.id for a in found if a.id is not None])
    by_alert: dict[int, list[NotificationItem]] = {}
    for item in notification_items(store, notifications):
        by_alert.setdefault(item.alert_id, []).append(item)
    _, open_count = store.alerts(state="open", limit=0)
    now = time.time()
    manager = system.alerts
    return AlertsReport(
        timestamp=utc_now(),
        open_alerts=open_count,
        total=total,
        next_offset=offset + len(found) if offset + len(found) < total else None,
        maintenance=[w.name for w in manager.engine.active_maintenance(now)] if manager else [],
        silences=[silence_item(s, now) for s in store.silences(active_at=now)],
        alerts=[alert_item(a, by_alert.get(a.id or 0, [])) for a in found],
    )


def notifications_report(
    store: Store, state: NotificationState | None, limit: int, offset: int
) -> NotificationsReport:
    found, total = store.notifications(state=state, limit=limit, offset=offset)
    return NotificationsReport(
        timestamp=utc_now(),
        total=total,
        next_offset=offset + len(found) if offset + len(found) < total else None,
        notifications=notification_items(store, found),
    )
