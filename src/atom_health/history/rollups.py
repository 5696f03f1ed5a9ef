"""Rollups and retention, and counting across raw results and rollups, for every backend.

Complete hours and days are rolled up from raw results (counts by outcome, latency sum
and percentiles); raw results older than the retention are then deleted, never before
their hours are rolled up. Hourly rollups are kept 400 days and daily ones 5 years.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from atom_health.model.history import CheckRecord, Rollup, StatusCounts, counts_of
from atom_health.model.stats import percentiles
from atom_health.store.base import Store

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


def maintain(store: Store, now: float, raw_retention: float) -> tuple[int, int]:
    """Roll up complete hours and days, drop raw results past the retention.

    Returns (rollup buckets written, raw results deleted).
    """
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


def counts(
    store: Store, integrations: Sequence[str], since: float, until: float
) -> dict[str, StatusCounts]:
    """Check counts per integration in [since, until).

    Complete hours that are rolled up are read from their (exact) hourly rollups; raw
    results cover the rest. Where raw results were pruned, the hour that holds
    ``since`` counts whole.
    """
    totals = {name: StatusCounts() for name in integrations}
    for start, end, source in plan(store, since, until):
        read = store.rollup_counts if source == "rollups" else store.raw_counts
        for name, counts in read(integrations, start, end).items():
            totals[name].add(counts)
    return totals


def hourly_counts(
    store: Store, integrations: Sequence[str], since: float, until: float
) -> dict[str, dict[float, StatusCounts]]:
    """Check counts per integration and hour (keyed by the hour's start)."""
    hours: dict[str, dict[float, StatusCounts]] = {name: {} for name in integrations}
    for start, end, source in plan(store, since, until):
        if source == "rollups":
            for name in integrations:
                for rollup in store.rollups(name, "hour", start, end):
                    hours[name].setdefault(rollup.bucket, StatusCounts()).add(rollup.counts)
            continue
        for name, found in store.raw_hourly_counts(integrations, start, end).items():
            for hour, counts in found.items():
                hours[name].setdefault(hour, StatusCounts()).add(counts)
    return hours


def plan(store: Store, since: float, until: float) -> list[tuple[float, float, str]]:
    """Split [since, until) into spans read from raw results or from hourly rollups."""
    rolled = store.get_meta("rolled_until_hour")
    cutoff = store.get_meta("raw_cutoff")
    if rolled is None:
        return [(since, until, "raw")]
    raw_kept = cutoff is None or since >= cutoff
    first = ceil_to(since, HOUR) if raw_kept else floor_to(since, HOUR)
    last = floor_to(min(until, rolled), HOUR)
    if first >= last:
        return [(since, until, "raw")]
    spans = [(first, last, "rollups")]
    if raw_kept and since < first:
        spans.insert(0, (since, first, "raw"))
    if last < until:
        spans.append((last, until, "raw"))
    return spans
