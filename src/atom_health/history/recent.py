"""The last 30 days of each integration's history, in memory: check counts per hour, the
most recent latencies and the last check.

Loaded from the store (hourly rollups where they exist, grouped raw results elsewhere) at
start and again after each hour completes, in a thread; between loads, every fresh result
from the engine is counted as it arrives. So the dashboard and the overview read history
without a database query per request, and never on the event loop thread.

Between loads, only this process's own results are counted: an API-only replica sees the
results other replicas record at the next hourly load.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from atom_health.history import rollups
from atom_health.history.analytics import uptime_percentages
from atom_health.history.rollups import DAY, HOUR, floor_to
from atom_health.model.history import StatusCounts, epoch, from_epoch
from atom_health.model.results import Overview, ServiceHealth, Status
from atom_health.store.base import Store

WINDOW_DAYS = 30
LATENCY_POINTS = 40
Hours = dict[float, StatusCounts]


@dataclass
class Loaded:
    """What one load read from the store: complete hours before ``until``, and, on the first
    load only, the hour in progress."""

    until: float
    hours: dict[str, Hours]
    days: dict[str, Hours]  # the same hours summed per day
    current: dict[str, StatusCounts] | None
    latencies: dict[str, list[tuple[float, float]]]  # (checked_at, latency_ms), oldest first
    last_checked: dict[str, float]


def _count(status: Status, category: str | None) -> StatusCounts:
    healthy, degraded = status is Status.healthy, status is Status.degraded
    unhealthy = not healthy and not degraded
    return StatusCounts(
        total=1,
        healthy=int(healthy),
        degraded=int(degraded),
        unhealthy=int(unhealthy),
        vendor_outage=int(unhealthy and category == "vendor_outage"),
    )


class RecentHistory:
    def __init__(self, store: Store, names: Sequence[str]) -> None:
        self.store = store
        self.names = list(names)
        self.version = 0  # changes whenever anything below does
        self.versions = dict.fromkeys(self.names, 0)  # per integration
        self.loaded_until = -math.inf
        self._stored: dict[str, Hours] = {name: {} for name in self.names}
        self._stored_days: dict[str, Hours] = {name: {} for name in self.names}
        self._live: dict[str, Hours] = {name: {} for name in self.names}
        self._latencies: dict[str, deque[tuple[float, float]]] = {
            name: deque(maxlen=LATENCY_POINTS) for name in self.names
        }
        self._last: dict[str, float] = {}

    # -- loading (a thread) and applying (the event loop) ------------------------------------

    def load(self, now: float, *, current: bool) -> Loaded:
        """Read the complete hours of the last 30 days (and, with ``current``, the hour in
        progress) from the store. Synchronous: run it in a thread."""
        until = floor_to(now, HOUR)
        since = floor_to(now, DAY) - (WINDOW_DAYS - 1) * DAY
        hours = rollups.hourly_counts(self.store, self.names, since, until)
        days = {name: _by_day(found) for name, found in hours.items()}
        in_progress = None
        if current:
            in_progress = rollups.counts(self.store, self.names, until, now + 1)
        latencies = {}
        for name in self.names:
            records, _ = self.store.results(name, now - 7 * DAY, now + 1, limit=LATENCY_POINTS)
            latencies[name] = [
                (r.checked_at, r.latency_ms) for r in reversed(records) if r.latency_ms is not None
            ]
        last = {name: r.checked_at for name, r in self.store.latest(self.names).items()}
        return Loaded(until, hours, days, in_progress, latencies, last)

    def apply(self, loaded: Loaded) -> None:
        """Swap a load in, keeping what was counted live since the hours it covers."""
        self.loaded_until = loaded.until
        self._stored = {name: loaded.hours.get(name, {}) for name in self.names}
        self._stored_days = {name: loaded.days.get(name, {}) for name in self.names}
        for name in self.names:
            live = {h: c for h, c in self._live[name].items() if h >= loaded.until}
            if loaded.current is not None and loaded.current[name].total:
                live.setdefault(loaded.until, StatusCounts()).add(loaded.current[name])
            self._live[name] = live
            merged = sorted({*loaded.latencies.get(name, []), *self._latencies[name]})
            self._latencies[name] = deque(merged[-LATENCY_POINTS:], maxlen=LATENCY_POINTS)
            stored_last = loaded.last_checked.get(name)
            if stored_last is not None and stored_last > self._last.get(name, -math.inf):
                self._last[name] = stored_last
            self.versions[name] += 1
        self.version += 1

    def observe(self, result: ServiceHealth) -> None:
        """Monitor subscriber: count one fresh result (O(1), on the event loop)."""
        name = result.service
        if name not in self.versions:
            return
        at = epoch(result.timestamp)
        api = result.checks.api_access
        hour = floor_to(at, HOUR)
        if hour >= self.loaded_until:
            counts = self._live[name].get(hour)
            if counts is None:
                counts = self._live[name][hour] = StatusCounts()
            counts.add(_count(result.status, api.category.value if api.category else None))
        if api.latency_ms is not None:
            self._latencies[name].append((at, api.latency_ms))
        if at > self._last.get(name, -math.inf):
            self._last[name] = at
        self.versions[name] += 1
        self.version += 1

    # -- reading ------------------------------------------------------------------------------

    def by_hour(self, name: str, start: float, count: int) -> list[StatusCounts]:
        """Counts of ``count`` hours from ``start`` (an hour's start), oldest first."""
        stored, live = self._stored.get(name, {}), self._live.get(name, {})
        return [_sum(stored.get(h), live.get(h)) for h in _steps(start, count, HOUR)]

    def by_day(self, name: str, start: float, count: int) -> list[StatusCounts]:
        """Counts of ``count`` UTC days from ``start`` (a midnight), oldest first."""
        stored, live = self._stored_days.get(name, {}), self._live.get(name, {})
        live_days = _by_day(live) if live else {}
        return [_sum(stored.get(d), live_days.get(d)) for d in _steps(start, count, DAY)]

    def latencies(self, name: str) -> list[float]:
        """The most recent latencies, oldest first."""
        return [latency for _, latency in self._latencies.get(name, ())]

    def last_checked(self, name: str) -> float | None:
        return self._last.get(name)


def _steps(start: float, count: int, size: float) -> list[float]:
    return [start + index * size for index in range(count)]


def _sum(*parts: StatusCounts | None) -> StatusCounts:
    total = StatusCounts()
    for part in parts:
        if part is not None:
            total.add(part)
    return total


def _by_day(hours: Mapping[float, StatusCounts]) -> Hours:
    days: Hours = {}
    for hour, counts in hours.items():
        days.setdefault(floor_to(hour, DAY), StatusCounts()).add(counts)
    return days


def uptime(counts: Sequence[StatusCounts]) -> float | None:
    """Uptime % over these counts together."""
    return uptime_percentages(_sum(*counts))[0]


def with_recent_history(overview: Overview, recent: RecentHistory) -> Overview:
    """The overview with each service's uptime over the last 24 hours (the hour in progress
    and the 23 before it) and its last check."""
    since = floor_to(time.time(), HOUR) - 23 * HOUR
    services = {}
    for name, line in overview.services.items():
        last = recent.last_checked(name)
        services[name] = line.model_copy(
            update={
                "uptime_24h": uptime(recent.by_hour(name, since, 24)),
                "last_checked": from_epoch(last) if last is not None else None,
            }
        )
    return overview.model_copy(update={"services": services})
