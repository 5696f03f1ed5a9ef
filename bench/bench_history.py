"""History at scale: 1,000,000 results over 90 days for 14 integrations, on SQLite and on
PostgreSQL. Prints insert throughput, maintenance time, window queries and the overview.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from atom_health.history import rollups
from atom_health.history.queries import window_stats
from atom_health.history.recent import RecentHistory
from atom_health.model.history import CheckRecord
from atom_health.model.results import Status
from atom_health.store.base import Store
from atom_health.store.sql import SqlStore

INTEGRATIONS = ["zoom", "notion", "trello", "stripe", "quickbooks", "github", "salesforce",
                "googledrive", "dropbox", "slack", "hubspot", "jira", "linear", "xero"]  # fmt: skip
TOTAL = 1_000_000
DAYS = 90
BATCH = 2000  # the recorder's batch size


def generate(now: float) -> Iterator[list[CheckRecord]]:
    """Results every ~109 s per integration for 90 days; ~2 % unhealthy, some vendor outages."""
    rng = random.Random(7)
    start = now - DAYS * 86_400
    step = DAYS * 86_400 / (TOTAL / len(INTEGRATIONS))
    batch: list[CheckRecord] = []
    for i in range(TOTAL // len(INTEGRATIONS)):
        at = start + i * step
        for name in INTEGRATIONS:
            roll = rng.random()
            status = (
                Status.unhealthy
                if roll < 0.02
                else Status.degraded
                if roll < 0.05
                else Status.healthy
            )
            category = (
                ("vendor_outage" if roll < 0.005 else "timeout")
                if status is Status.unhealthy
                else None
            )
            batch.append(CheckRecord(name, at, status, category, rng.lognormvariate(5, 0.4), 200,
                                     "operational", f"{name} check"))  # fmt: skip
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def median_ms(action: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run(label: str, store: Store) -> None:
    now = time.time()
    started = time.perf_counter()
    for batch in generate(now):
        store.add_results(batch)
    insert_s = time.perf_counter() - started
    started = time.perf_counter()
    written, deleted = rollups.maintain(store, now, raw_retention=30 * 86_400)
    maintain_s = time.perf_counter() - started
    d30 = median_ms(lambda: window_stats(store, "stripe", now - 30 * 86_400, now, now), 15)
    d90 = median_ms(lambda: window_stats(store, "stripe", now - 90 * 86_400, now, now), 15)
    recent = RecentHistory(store, INTEGRATIONS)
    load = median_ms(lambda: recent.load(now, current=True), 5)
    print(f"\n{label}")
    print(
        f"  insert {TOTAL:,} results      {insert_s:6.1f} s   {TOTAL / insert_s:9,.0f} results/s (target > 5,000)"
    )
    print(
        f"  first maintenance          {maintain_s:6.1f} s   {written:,} rollups, {deleted:,} raw pruned (30 d kept)"
    )
    print(f"  30 d uptime + latency p50/95/99 (stripe)  {d30:7.1f} ms   (target < 50 ms)")
    print(f"  90 d uptime + latency (raw + rollups)     {d90:7.1f} ms")
    print(
        f"  recent history load, all 14 (30 d hourly counts, latest, latencies)  {load:7.1f} ms"
        "   (once an hour, in a thread; the overview and dashboard then query nothing)"
    )


@contextmanager
def postgres() -> Iterator[str | None]:
    try:
        from tests.system_services import postgres_bin, postgres_server
    except ImportError:
        yield None
        return
    if postgres_bin() is None:
        yield None
        return
    with postgres_server() as url:
        yield url


def main() -> None:
    print(f"History: {TOTAL:,} results over {DAYS} days for {len(INTEGRATIONS)} integrations")
    with tempfile.TemporaryDirectory() as folder:
        store = SqlStore(f"sqlite:///{Path(folder) / 'history.db'}")
        run("SQLite (WAL)", store)
        store.close()
    with postgres() as url:
        if url is None:
            print("\nPostgreSQL: not installed (apt-get install postgresql); skipped")
            return
        store = SqlStore(url)
        run("PostgreSQL (local, fsync off)", store)
        store.close()


if __name__ == "__main__":
    main()
