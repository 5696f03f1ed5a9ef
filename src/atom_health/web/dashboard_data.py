"""The data behind the dashboard's main view: rows, uptime bars and latency sparklines.

Built from the engine's latest results and the in-memory recent history, never from a
database query; :mod:`atom_health.web.answers` keeps each service's part until its inputs
change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from atom_health.history.analytics import uptime_percentages
from atom_health.history.recent import RecentHistory, window_uptime
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


def dashboard_service(recent: RecentHistory, result: ServiceHealth, now: float) -> DashboardService:
    """One row with its bars (24 h hourly, 7 and 30 days daily) and sparkline."""
    this_hour, today = floor_to(now, HOUR), floor_to(now, DAY)
    hours = recent.hours(result.service)
    return DashboardService(
        **ServiceRow.of(result).model_dump(),
        uptime={
            "24h": window_uptime(hours, this_hour - 23 * HOUR),
            "7d": window_uptime(hours, today - 6 * DAY),
            "30d": window_uptime(hours, today - 29 * DAY),
        },
        bars={
            "24h": _segments(hours, this_hour - 23 * HOUR, 24, HOUR),
            "7d": _segments(hours, today - 6 * DAY, 7, DAY),
            "30d": _segments(hours, today - 29 * DAY, 30, DAY),
        },
        latencies=recent.latencies(result.service),
    )


def critical_first(results: Sequence[ServiceHealth]) -> list[ServiceHealth]:
    return sorted(results, key=lambda r: r.criticality != "critical")


def assemble(results: Sequence[ServiceHealth], services: list[DashboardService]) -> Dashboard:
    """The whole view from rows already built (in :func:`critical_first` order)."""
    return Dashboard(timestamp=utc_now(), summary=summary_of(results), services=services)
