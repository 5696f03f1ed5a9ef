"""The in-memory store: for library use and tests. Everything is lost with the process."""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import threading
import time
from collections.abc import Sequence

from atom_health.config.alerting import MaintenanceWindow
from atom_health.model.alerts import (
    Alert,
    AlertChange,
    AlertEvent,
    AlertState,
    Delivery,
    Notification,
    NotificationState,
    Silence,
    alert_matches,
)
from atom_health.model.audit import AuditRecord
from atom_health.model.history import (
    CheckRecord,
    ConfigEvent,
    Incident,
    Rollup,
    StatusCounts,
    counts_of,
)
from atom_health.model.results import Status
from atom_health.store.base import REPEAT_WINDOW_SECONDS, Store


class MemoryStore(Store):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._raw: dict[str, list[CheckRecord]] = {}  # per integration, ordered by time
        self._incidents: dict[int, Incident] = {}
        self._events: list[ConfigEvent] = []
        self._rollups: dict[tuple[str, str, float], Rollup] = {}
        self._meta: dict[str, float] = {}
        self._alerts: dict[int, Alert] = {}
        self._notifications: dict[int, Notification] = {}  # ids ascending: oldest first
        self._deliveries: list[Delivery] = []
        self._audit: list[AuditRecord] = []
        self._rule_states: dict[str, str] = {}
        self._silences: dict[int, Silence] = {}
        self._windows: dict[int, MaintenanceWindow] = {}
        self._window_ids = itertools.count(1)

    # -- alerting --------------------------------------------------------------------------

    def commit_alert_change(self, change: AlertChange, outbox_limit: int) -> dict[str, int]:
        with self._lock:
            for event, notifications in change.events:
                if not self._save_alert(event):  # written already (the SQL store's rules)
                    continue
                alert = event.alert
                assert alert.id is not None
                for notification in notifications:
                    notification.alert_id = alert.id
                    notification.payload = event.to_json()
                    notification.id = len(self._notifications) + 1
                    self._notifications[notification.id] = dataclasses.replace(notification)
            self._rule_states.update(change.rule_states)
            return self._drop_past(outbox_limit)

    def _save_alert(self, event: AlertEvent) -> bool:
        alert = event.alert
        if alert.id is None:
            same = [a for a in self._alerts.values() if a.key == alert.key]
            alert.id = next((a.id for a in same if a.resolved_at is None), None)
            if alert.id is None and alert.resolved_at is not None:
                recent = [
                    a for a in same if (a.resolved_at or 0) >= event.at - REPEAT_WINDOW_SECONDS
                ]
                if recent:
                    alert.id = recent[-1].id
                    return False
            if alert.id is None:
                alert.id = len(self._alerts) + 1
                self._alerts[alert.id] = alert.snapshot()
                return True
        if event.action == "opened":  # it is open already (under this id)
            return False
        known = self._alerts.get(alert.id)
        if known is not None and not self._not_yet_written(known, event):
            return False
        saved = alert.snapshot()
        if known is not None:
            saved.acknowledged_at, saved.acknowledged_by, saved.ack_comment = (
                known.acknowledged_at, known.acknowledged_by, known.ack_comment)  # fmt: skip
        self._alerts[alert.id] = saved
        return True

    @staticmethod
    def _not_yet_written(known: Alert, event: AlertEvent) -> bool:
        if known.resolved_at is not None:
            return False
        if event.action == "reminder":
            return (
                known.last_sent_at is None or known.last_sent_at < event.at - REPEAT_WINDOW_SECONDS
            )
        if event.action == "updated":
            return (known.services, known.severity) != (event.alert.services, event.alert.severity)
        return True

    def _drop_past(self, limit: int) -> dict[str, int]:
        pending = [n for n in self._notifications.values() if n.state == "pending"]
        now = time.time()
        # Never one being sent (claimed): its attempt, when it ends, writes it back.
        free = [n for n in pending if n.claimed_until is None or n.claimed_until < now]
        dropped: dict[str, int] = {}
        for notification in free[: max(0, len(pending) - limit)]:  # oldest first (by id)
            notification.state = "dropped"
            notification.last_error = "dropped: the outbox was full"
            dropped[notification.notifier] = dropped.get(notification.notifier, 0) + 1
        return dropped

    def rule_states(self) -> dict[str, str]:
        with self._lock:
            return dict(self._rule_states)

    def acknowledge_alert(self, alert_id: int, at: float, by: str, comment: str) -> None:
        with self._lock:
            alert = self._alerts[alert_id]
            alert.acknowledged_at, alert.acknowledged_by, alert.ack_comment = at, by, comment

    def alerts(
        self,
        *,
        state: AlertState | None = None,
        integration: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Alert], int]:
        with self._lock:
            found = [
                a.snapshot()
                for a in self._alerts.values()
                if alert_matches(a, state, integration, since, until)
            ]
        found.sort(key=lambda a: (-a.opened_at, -(a.id or 0)))
        return found[offset : offset + limit], len(found)

    def alert(self, alert_id: int) -> Alert | None:
        with self._lock:
            found = self._alerts.get(alert_id)
            return found.snapshot() if found else None

    def pending_notifications(self, limit: int) -> list[Notification]:
        with self._lock:
            pending = [dataclasses.replace(n) for n in self._notifications.values()
                       if n.state == "pending"]  # fmt: skip
        return pending[:limit]

    def claim_notifications(
        self, notification_ids: Sequence[int], owner: str, now: float, until: float
    ) -> list[int]:
        claimed = []
        with self._lock:
            for notification_id in notification_ids:
                found = self._notifications.get(notification_id)
                free = found is not None and (
                    found.claimed_until is None
                    or found.claimed_until < now
                    or found.claimed_by == owner
                )
                if found is not None and found.state == "pending" and free:
                    found.claimed_by, found.claimed_until = owner, until
                    claimed.append(notification_id)
        return claimed

    def release_claims(self) -> None:
        with self._lock:
            for notification in self._notifications.values():
                notification.claimed_by = notification.claimed_until = None

    def record_attempt(self, notification: Notification, attempt: Delivery) -> None:
        with self._lock:
            assert notification.id is not None
            self._notifications[notification.id] = dataclasses.replace(notification)
            self._deliveries.append(attempt)

    def notifications(
        self,
        *,
        alert_ids: Sequence[int] | None = None,
        state: NotificationState | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> tuple[list[Notification], int]:
        wanted = None if alert_ids is None else set(alert_ids)
        with self._lock:
            found = [
                dataclasses.replace(n)
                for n in self._notifications.values()
                if (wanted is None or n.alert_id in wanted) and (state is None or n.state == state)
            ]
        return found[offset : offset + limit], len(found)

    def deliveries(self, notification_ids: Sequence[int]) -> list[Delivery]:
        wanted = set(notification_ids)
        with self._lock:
            return [d for d in self._deliveries if d.notification_id in wanted]

    def save_silence(self, silence: Silence) -> None:
        with self._lock:
            if silence.id is None:
                silence.id = len(self._silences) + 1
            self._silences[silence.id] = dataclasses.replace(silence)

    def silences(self, *, active_at: float | None = None) -> list[Silence]:
        with self._lock:
            found = [
                dataclasses.replace(s)
                for s in self._silences.values()
                if active_at is None or s.active(active_at)
            ]
        return sorted(found, key=lambda s: -(s.id or 0))

    def add_maintenance(self, window: MaintenanceWindow, created_at: float) -> int:
        with self._lock:
            window_id = next(self._window_ids)
            self._windows[window_id] = window.model_copy(deep=True)
            return window_id

    def maintenance_windows(self) -> dict[int, MaintenanceWindow]:
        with self._lock:
            return {key: w.model_copy(deep=True) for key, w in self._windows.items()}

    def delete_maintenance(self, window_id: int) -> bool:
        with self._lock:
            return self._windows.pop(window_id, None) is not None

    def add_results(self, records: Sequence[CheckRecord]) -> None:
        with self._lock:
            for record in records:
                rows = self._raw.setdefault(record.integration, [])
                if rows and rows[-1].checked_at > record.checked_at:
                    bisect.insort(rows, record, key=lambda r: r.checked_at)
                else:
                    rows.append(record)

    def save_incidents(self, incidents: Sequence[Incident]) -> None:
        with self._lock:
            for incident in incidents:
                if incident.id is None:
                    incident.id = len(self._incidents) + 1
                self._incidents[incident.id] = dataclasses.replace(incident)

    def add_config_events(self, events: Sequence[ConfigEvent]) -> None:
        with self._lock:
            self._events.extend(events)

    def _window(self, integration: str, since: float, until: float) -> list[CheckRecord]:
        rows = self._raw.get(integration, [])
        low = bisect.bisect_left(rows, since, key=lambda r: r.checked_at)
        high = bisect.bisect_left(rows, until, key=lambda r: r.checked_at)
        return rows[low:high]

    def results(
        self,
        integration: str,
        since: float,
        until: float,
        *,
        status: Status | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[CheckRecord], int]:
        with self._lock:
            rows = [
                r
                for r in reversed(self._window(integration, since, until))
                if status is None or r.status is status
            ]
        return rows[offset : offset + limit], len(rows)

    def latest(self, integrations: Sequence[str]) -> dict[str, CheckRecord]:
        with self._lock:
            return {name: self._raw[name][-1] for name in integrations if self._raw.get(name)}

    def latencies(self, integration: str, since: float, until: float) -> list[float]:
        with self._lock:
            window = self._window(integration, since, until)
        return [r.latency_ms for r in window if r.latency_ms is not None]

    def incidents(
        self, integration: str | None, since: float, until: float, *, open_only: bool = False
    ) -> list[Incident]:
        with self._lock:
            found = [
                dataclasses.replace(i)
                for i in self._incidents.values()
                if (integration is None or i.integration == integration)
                and (
                    i.open
                    if open_only
                    else i.started_at < until and (i.ended_at is None or i.ended_at > since)
                )
            ]
        return sorted(found, key=lambda i: i.started_at)

    def config_events(self, integration: str, since: float, until: float) -> list[ConfigEvent]:
        with self._lock:
            return [
                e for e in self._events if e.integration == integration and since <= e.at < until
            ]

    def raw_counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, StatusCounts]:
        with self._lock:
            return {name: counts_of(self._window(name, since, until)) for name in integrations}

    def raw_hourly_counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, dict[float, StatusCounts]]:
        hours: dict[str, dict[float, StatusCounts]] = {name: {} for name in integrations}
        with self._lock:
            for name in integrations:
                for record in self._window(name, since, until):
                    hour = record.checked_at - record.checked_at % 3600
                    hours[name].setdefault(hour, StatusCounts()).add(counts_of([record]))
        return hours

    def rollup_counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, StatusCounts]:
        totals = {name: StatusCounts() for name in integrations}
        with self._lock:
            for (name, granularity, bucket), rollup in self._rollups.items():
                if granularity == "hour" and name in totals and since <= bucket < until:
                    totals[name].add(rollup.counts)
        return totals

    def raw_between(self, start: float, end: float) -> list[CheckRecord]:
        with self._lock:
            return [r for name in self._raw for r in self._window(name, start, end)]

    def oldest_raw(self) -> float | None:
        with self._lock:
            firsts = [rows[0].checked_at for rows in self._raw.values() if rows]
        return min(firsts) if firsts else None

    def put_rollups(self, rollups: Sequence[Rollup]) -> None:
        with self._lock:
            for rollup in rollups:
                self._rollups[(rollup.integration, rollup.granularity, rollup.bucket)] = rollup

    def rollups(
        self, integration: str, granularity: str, since: float, until: float
    ) -> list[Rollup]:
        with self._lock:
            found = [
                r
                for (name, kind, bucket), r in self._rollups.items()
                if name == integration and kind == granularity and since <= bucket < until
            ]
        return sorted(found, key=lambda r: r.bucket)

    def delete_raw_before(self, moment: float) -> int:
        deleted = 0
        with self._lock:
            for name, rows in self._raw.items():
                keep = bisect.bisect_left(rows, moment, key=lambda r: r.checked_at)
                deleted += keep
                self._raw[name] = rows[keep:]
        return deleted

    def delete_rollups_before(self, granularity: str, moment: float) -> None:
        with self._lock:
            for key in [k for k in self._rollups if k[1] == granularity and k[2] < moment]:
                del self._rollups[key]

    def get_meta(self, key: str) -> float | None:
        with self._lock:
            return self._meta.get(key)

    def set_meta(self, key: str, value: float) -> None:
        with self._lock:
            self._meta[key] = value

    def add_audit(self, record: AuditRecord) -> None:
        with self._lock:
            self._audit.append(record)

    def audit(self, *, limit: int = 100, offset: int = 0) -> list[AuditRecord]:
        with self._lock:
            newest_first = sorted(self._audit, key=lambda r: -r.at)
        return newest_first[offset : offset + limit]
