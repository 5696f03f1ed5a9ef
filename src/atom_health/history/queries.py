"""Answers about the past, as response models: history pages, uptime windows, incidents.

Synchronous (they read the store); the API runs them in a thread pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from atom_health.history import rollups
from atom_health.history.analytics import incident_stats, uptime_percentages
from atom_health.history.rollups import HOUR
from atom_health.model.history import CheckRecord, Incident, Rollup, epoch, from_epoch
from atom_health.model.results import (
    Category,
    ConfigEventItem,
    ConfigEventsReport,
    HistoryItem,
    HistoryPage,
    IncidentItem,
    IncidentsReport,
    Status,
    UptimeReport,
    VendorState,
    WindowStats,
    utc_now,
)
from atom_health.model.stats import percentiles
from atom_health.store.base import Store

WINDOWS = {
    "1h": HOUR,
    "24h": 24 * HOUR,
    "7d": 7 * 24 * HOUR,
    "30d": 30 * 24 * HOUR,
    "90d": 90 * 24 * HOUR,
}


def _item(record: CheckRecord) -> HistoryItem:
    return HistoryItem(
        checked_at=from_epoch(record.checked_at),
        status=record.status,
        category=Category(record.category) if record.category else None,
        latency_ms=record.latency_ms,
        http_status=record.http_status,
        vendor_state=VendorState(record.vendor_state) if record.vendor_state else None,
        message=record.message,
    )


def history_page(
    store: Store,
    service: str,
    since: datetime,
    until: datetime,
    status: Status | None,
    limit: int,
    offset: int,
) -> HistoryPage:
    records, total = store.results(
        service, epoch(since), epoch(until), status=status, limit=limit, offset=offset
    )
    following = offset + len(records)
    return HistoryPage(
        service=service,
        since=since,
        until=until,
        total=total,
        limit=limit,
        offset=offset,
        next_offset=following if following < total else None,
        items=[_item(r) for r in records],
    )


def config_events_report(
    store: Store, service: str, since: datetime, until: datetime, limit: int
) -> ConfigEventsReport:
    events = store.config_events(service, epoch(since), epoch(until))
    newest = sorted(events, key=lambda event: event.at, reverse=True)[:limit]
    return ConfigEventsReport(
        service=service,
        since=since,
        until=until,
        events=[
            ConfigEventItem(at=from_epoch(e.at), variable=e.variable, change=e.change)
            for e in newest
        ],
    )


def window_stats(store: Store, service: str, since: float, until: float, now: float) -> WindowStats:
    counts = rollups.counts(store, [service], since, until)[service]
    uptime, uptime_ours = uptime_percentages(counts)
    raw: list[float] = []
    hours: list[Rollup] = []
    for start, end, source in rollups.plan(store, since, until):
        if source == "raw":
            raw.extend(store.latencies(service, start, end))
        else:
            hours.extend(store.rollups(service, "hour", start, end))
    p50, p95, p99 = _rollup_percentiles(hours, raw) if hours else percentiles(raw)
    latency_source = None if p50 is None else "rollups" if hours else "raw"
    stats = incident_stats(store.incidents(service, since, until), since, until, now)
    return WindowStats(
        since=from_epoch(since),
        until=from_epoch(until),
        checks=counts.total,
        healthy_checks=counts.healthy,
        degraded_checks=counts.degraded,
        unhealthy_checks=counts.unhealthy,
        uptime_percentage=uptime,
        uptime_excluding_vendor_percentage=uptime_ours,
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        latency_p99_ms=p99,
        latency_source=latency_source,
        incidents=stats.count,
        open_incidents=stats.open,
        mttr_seconds=stats.mttr_seconds,
        mtbf_seconds=stats.mtbf_seconds,
        downtime_seconds=stats.own_seconds,
        vendor_downtime_seconds=stats.vendor_seconds,
    )


def _rollup_percentiles(
    rollups: Sequence[Rollup], recent: Sequence[float]
) -> tuple[float | None, float | None, float | None]:
    """Approximate percentiles: each hour's percentile weighted by its number of checks,
    with the raw latencies after the cutoff as they are."""
    weighted: list[list[tuple[float, int]]] = [[], [], []]
    for rollup in rollups:
        for slot, value in enumerate((rollup.latency_p50, rollup.latency_p95, rollup.latency_p99)):
            if value is not None:
                weighted[slot].append((value, rollup.latency_count))
    exact = percentiles(recent)
    for slot, value in enumerate(exact):
        if value is not None:
            weighted[slot].append((value, len(recent)))
    fractions = (0.50, 0.95, 0.99)

    def pick(slot: int) -> float | None:
        pairs = sorted(weighted[slot])
        total = sum(count for _, count in pairs)
        if not total:
            return None
        running = 0
        for value, count in pairs:
            running += count
            if running >= fractions[slot] * total:
                return value
        return pairs[-1][0]

    return pick(0), pick(1), pick(2)


def uptime_report(
    store: Store,
    service: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> UptimeReport:
    """The standard windows ending now, or one custom window when ``since`` is given."""
    now = utc_now()
    end = epoch(until or now)
    if since is not None:
        windows = {"custom": window_stats(store, service, epoch(since), end, epoch(now))}
    else:
        windows = {
            name: window_stats(store, service, end - length, end, epoch(now))
            for name, length in WINDOWS.items()
        }
    return UptimeReport(service=service, timestamp=now, windows=windows)


def _incident_item(incident: Incident, now: float) -> IncidentItem:
    assert incident.id is not None
    return IncidentItem(
        id=incident.id,
        service=incident.integration,
        started_at=from_epoch(incident.started_at),
        ended_at=from_epoch(incident.ended_at) if incident.ended_at is not None else None,
        duration_seconds=round(incident.duration(now), 3),
        open=incident.open,
        worst_status=incident.worst_status,
        category=Category(incident.category) if incident.category else None,
        message=incident.message,
    )


def incidents_report(
    store: Store, since: datetime, service: str | None, open_only: bool, limit: int
) -> IncidentsReport:
    now = utc_now()
    found = store.incidents(service, epoch(since), epoch(now), open_only=open_only)
    stats = incident_stats(found, epoch(since), epoch(now), epoch(now))
    newest_first = sorted(found, key=lambda i: (not i.open, -i.started_at))[:limit]
    return IncidentsReport(
        timestamp=now,
        open_incidents=sum(1 for i in found if i.open),
        mttr_seconds=stats.mttr_seconds,
        mtbf_seconds=stats.mtbf_seconds,
        incidents=[_incident_item(i, epoch(now)) for i in newest_first],
    )
