"""The data behind the dashboard's main view: rows, uptime bars and latency sparklines.

Built from the engine's latest results and the in-memory recent history, never from a
database query; :mod:`atom_health.web.answers` keeps each row's JSON until its inputs change.
"""

from __future__ import annotations

from collections.abc import Sequence

from atom_health.history.analytics import uptime_percentages
from atom_health.history.recent import RecentHistory, uptime
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


def _segments(counts: Sequence[StatusCounts], start: float, size: float) -> list[Segment]:
    return [
        Segment(
            start=from_epoch(start + index * size),
            checks=found.total,
            uptime_percentage=uptime_percentages(found)[0],
        )
        for index, found in enumerate(counts)
    ]


def dashboard_service(recent: RecentHistory, result: ServiceHealth, now: float) -> DashboardService:
    """One row with its bars (24 h hourly, 7 and 30 days daily) and sparkline."""
    first_hour, first_day = floor_to(now, HOUR) - 23 * HOUR, floor_to(now, DAY) - 29 * DAY
    hours = recent.by_hour(result.service, first_hour, 24)
    days = recent.by_day(result.service, first_day, 30)
    return DashboardService(
        **ServiceRow.of(result).model_dump(),
        uptime={"24h": uptime(hours), "7d": uptime(days[-7:]), "30d": uptime(days)},
        bars={
            "24h": _segments(hours, first_hour, HOUR),
            "7d": _segments(days[-7:], first_day + 23 * DAY, DAY),
            "30d": _segments(days, first_day, DAY),
        },
        latencies=recent.latencies(result.service),
    )


def critical_first(results: Sequence[ServiceHealth]) -> list[ServiceHealth]:
    return sorted(results, key=lambda r: r.criticality != "critical")


def frame(results: Sequence[ServiceHealth], disabled: Sequence[str] = ()) -> Dashboard:
    """The view without its rows (``services`` empty): the rows' JSON goes in its list."""
    return Dashboard(
        timestamp=utc_now(), summary=summary_of(results), disabled=list(disabled), services=[]
    )
