"""Rollups and retention, written once for every backend.

Complete hours and days are rolled up from raw results (counts by outcome, latency sum
and percentiles); raw results older than the retention are then deleted, never before
their hours are rolled up. Hourly rollups are kept 400 days and daily ones 5 years.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

from atom_health.history.analytics import counts_of, percentiles
from atom_health.history.records import CheckRecord, Rollup

HOUR = 3600.0
DAY = 86_400.0
GRANULARITIES = {"hour": HOUR, "day": DAY}
KEEP = {"hour": 400 * DAY, "day": 5 * 365 * DAY}


def floor_to(moment: float, size: float) -> float:
    return moment - (moment % size)


def ceil_to(moment: float, size: float) -> float:
    floored = floor_to(moment, size)
    return floored if floored == moment else floored + size


def rollups_of(records: Iterable[CheckRecord], granularity: str) -> list[Rollup]:
    """Aggregate records into buckets of ``granularity`` per integration."""
    size = GRANULARITIES[granularity]
    buckets: dict[tuple[str, float], list[CheckRecord]] = defaultdict(list)
    for record in records:
        buckets[(record.integration, floor_to(record.checked_at, size))].append(record)
    rollups = []
    for (integration, start), members in sorted(buckets.items()):
        latencies = [r.latency_ms for r in members if r.latency_ms is not None]
        p50, p95, p99 = percentiles(latencies)
        rollups.append(
            Rollup(
                integration=integration,
                granularity=granularity,
                bucket=start,
                counts=counts_of(members),
                latency_count=len(latencies),
                latency_sum=round(sum(latencies), 3),
                latency_p50=p50,
                latency_p95=p95,
                latency_p99=p99,
            )
        )
    return rollups


class RollupPrimitives(Protocol):
    """What a backend offers so that :func:`maintain` can run on it."""

    def raw_between(self, start: float, end: float) -> list[CheckRecord]: ...

    def oldest_raw(self) -> float | None: ...

    def put_rollups(self, rollups: Sequence[Rollup]) -> None: ...

    def delete_raw_before(self, moment: float) -> int: ...

    def delete_rollups_before(self, granularity: str, moment: float) -> None: ...

    def get_meta(self, key: str) -> float | None: ...

    def set_meta(self, key: str, value: float) -> None: ...


def maintain(store: RollupPrimitives, now: float, raw_retention: float) -> tuple[int, int]:
    written = 0
    for granularity, size in GRANULARITIES.items():
        key = f"rolled_until_{granularity}"
        start = store.get_meta(key)
        if start is None:
            oldest = store.oldest_raw()
            if oldest is None:
                continue
            start = floor_to(oldest, size)
        complete = floor_to(now, size)
        while start < complete:  # one bucket-sized step at a time keeps memory flat
            end = min(complete, start + max(size, DAY))
            rollups = rollups_of(store.raw_between(start, end), granularity)
            store.put_rollups(rollups)
            written += len(rollups)
            start = end
            store.set_meta(key, start)
        store.delete_rollups_before(granularity, now - KEEP[granularity])
    rolled = store.get_meta("rolled_until_hour")
    if rolled is None:
        return written, 0
    # Raw results before raw_cutoff are gone; queries read hourly rollups there instead.
    cutoff = min(floor_to(now - raw_retention, HOUR), rolled)
    deleted = store.delete_raw_before(cutoff)
    if cutoff > (store.get_meta("raw_cutoff") or float("-inf")):
        store.set_meta("raw_cutoff", cutoff)
    return written, deleted
