"""The history queries use their indexes, on SQLite and on PostgreSQL: every statement the
store runs for the uptime windows, the recent history and maintenance is captured and
explained, and none may scan a whole table (the benchmark has the timings)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from atom_health.history import rollups
from atom_health.history.queries import window_stats
from atom_health.history.recent import RecentHistory
from atom_health.history.rollups import DAY
from atom_health.model.history import CheckRecord, Incident
from atom_health.model.results import Status
from atom_health.store.sql import SqlStore

NAMES = [f"service{i}" for i in range(14)]
NOW = 1_790_000_000.0
TABLES = ("check_results", "rollups", "incidents")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    url = (
        f"sqlite:///{tmp_path / 'h.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    store = SqlStore(url)
    rng = random.Random(3)
    start = NOW - 40 * DAY
    step = 40 * DAY / 2000
    store.add_results([
        CheckRecord(name, start + i * step + n, Status.healthy if rng.random() > 0.05 else Status.unhealthy,
                    latency_ms=100.0)
        for i in range(2000) for n, name in enumerate(NAMES)
    ])  # fmt: skip
    store.save_incidents([Incident(name, start + DAY * d, Status.unhealthy, None, "", start + DAY * d + 60)
                          for name in NAMES for d in range(40)])  # fmt: skip
    rollups.maintain(store, NOW - 2 * DAY, raw_retention=30 * DAY)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    yield store
    store.close()


def captured(store: SqlStore, action: Any) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        action()
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    return statements


def full_scans(store: SqlStore, statement: str, parameters: Any) -> list[str]:
    """The plan's lines that read one of the history tables whole."""
    postgres = store.engine.dialect.name == "postgresql"
    prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + statement, parameters).fetchall()
    lines = [str(row[0] if postgres else row[-1]) for row in rows]
    if postgres:
        return [line for line in lines for t in TABLES if f"Seq Scan on {t}" in line]
    return [line for line in lines for t in TABLES if line.startswith(f"SCAN {t}")]


def test_uptime_recent_history_and_maintenance_queries_use_indexes(store: SqlStore) -> None:
    recent = RecentHistory(store, NAMES)
    statements = captured(store, lambda: (
        window_stats(store, "service3", NOW - 30 * DAY, NOW, NOW),
        window_stats(store, "service3", NOW - 90 * DAY, NOW, NOW),
        recent.load(NOW, current=True),
        store.raw_between(NOW - 2 * DAY, NOW - 2 * DAY + 3600),
        store.oldest_raw(),
    ))  # fmt: skip

    assert len(statements) > 10
    scans = {s: found for s, p in statements if (found := full_scans(store, s, p))}
    assert scans == {}
