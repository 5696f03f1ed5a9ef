"""``GET /api/alerts``: stored alerts with their delivery attempts, and active maintenance."""

from __future__ import annotations

import time

from atom_health.model.history import from_epoch
from atom_health.model.results import AlertItem, AlertsReport, DeliveryItem, utc_now
from atom_health.web.parts import SystemParts


def alerts_report(system: SystemParts, open_only: bool, limit: int) -> AlertsReport:
    found = system.store.alerts(open_only=open_only, limit=limit)
    deliveries = system.store.deliveries([a.id for a in found if a.id is not None])
    by_alert: dict[int, list[DeliveryItem]] = {}
    for d in deliveries:
        by_alert.setdefault(d.alert_id, []).append(
            DeliveryItem(
                notifier=d.notifier,
                action=d.action,
                attempt=d.attempt,
                at=from_epoch(d.at),
                ok=d.ok,
                error=d.error,
            )
        )
    items = [
        AlertItem(
            id=a.id or 0,
            key=a.key,
            kind=a.kind,
            services=a.services,
            severity=a.severity,
            route=a.route,
            title=a.title,
            message=a.message,
            opened_at=from_epoch(a.opened_at),
            resolved_at=from_epoch(a.resolved_at) if a.resolved_at is not None else None,
            open=a.resolved_at is None,
            deliveries=by_alert.get(a.id or 0, []),
        )
        for a in found
    ]
    maintenance = (
        [w.name for w in system.alerts.engine.active_maintenance(time.time())]
        if system.alerts
        else []
    )
    return AlertsReport(
        timestamp=utc_now(),
        open_alerts=sum(1 for i in items if i.open),
        maintenance=maintenance,
        alerts=items,
    )
