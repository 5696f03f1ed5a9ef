"""The data behind the dashboard's main view: rows, uptime bars and latency sparklines."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from atom_health.history import rollups
from atom_health.history.analytics import uptime_percentages
from atom_health.history.rollups import DAY, HOUR, floor_to
from atom_health.model.history import StatusCounts, from_epoch
from atom_health.model.results import (
    Dashboard,
    DashboardService,
    Segment,
    ServiceHealth,
    ServiceRow,
    utc_now,
)
from atom_health.monitor import summary_of
from atom_health.store.base import Store

SPARKLINE_POINTS = 40


def _segments(
    hours: Mapping[float, StatusCounts], start: float, count: int, size: float
) -> list[Segment]:
    segments = []
    for index in range(count):
        begin = start + index * size
        counts = StatusCounts()
        for hour in range(int(size // HOUR)):
            found = hours.get(begin + hour * HOUR)
            if found is not None:
                counts.add(found)
        segments.append(
            Segment(
                start=from_epoch(begin),
                checks=counts.total,
                uptime_percentage=uptime_percentages(counts)[0],
            )
        )
    return segments


def _window_uptime(hours: Mapping[float, StatusCounts], since: float) -> float | None:
    counts = StatusCounts()
    for hour, found in hours.items():
        if hour >= since:
            counts.add(found)
    return uptime_percentages(counts)[0]


def build_dashboard(store: Store, results: Sequence[ServiceHealth]) -> Dashboard:
    """Rows for ``results`` (critical first), with bars and sparklines from the store."""
    now = time.time()
    this_hour, today = floor_to(now, HOUR), floor_to(now, DAY)
    names = [r.service for r in results]
    hourly = rollups.hourly_counts(store, names, today - 29 * DAY, now)
    services = []
    for result in sorted(results, key=lambda r: r.criticality != "critical"):
        hours = hourly[result.service]
        recent, _ = store.results(result.service, now - 7 * DAY, now + 1, limit=SPARKLINE_POINTS)
        services.append(
            DashboardService(
                **ServiceRow.of(result).model_dump(),
                uptime={
                    "24h": _window_uptime(hours, this_hour - 23 * HOUR),
                    "7d": _window_uptime(hours, today - 6 * DAY),
                    "30d": _window_uptime(hours, today - 29 * DAY),
                },
                bars={
                    "24h": _segments(hours, this_hour - 23 * HOUR, 24, HOUR),
                    "7d": _segments(hours, today - 6 * DAY, 7, DAY),
                    "30d": _segments(hours, today - 29 * DAY, 30, DAY),
                },
                latencies=[r.latency_ms for r in reversed(recent) if r.latency_ms is not None],
            )
        )
    return Dashboard(timestamp=utc_now(), summary=summary_of(results), services=services)
