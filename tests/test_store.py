"""One suite for every store backend: memory, SQLite and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from atom_health.history import rollups
from atom_health.history.rollups import DAY, HOUR
from atom_health.model.history import CheckRecord, ConfigEvent, Incident
from atom_health.model.results import Status
from atom_health.store import MemoryStore, Store
from atom_health.store.schema import metadata
from atom_health.store.sql import SqlStore

T0 = 1_790_000_000.0 - (1_790_000_000.0 % DAY)  # a UTC midnight


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        store: Store = MemoryStore()
    elif request.param == "sqlite":
        store = SqlStore(f"sqlite:///{tmp_path / 'history.db'}")
    else:
        store = SqlStore(request.getfixturevalue("postgres_url"))
    yield store
    store.close()


def record(
    at: float, status: Status = Status.healthy, name: str = "zoom", **extra: object
) -> CheckRecord:
    return CheckRecord(name, at, status, latency_ms=extra.pop("latency_ms", 100.0), **extra)  # type: ignore[arg-type]


def test_results_page_newest_first_with_filter_and_total(backend: Store) -> None:
    backend.add_results([record(T0 + i, Status.unhealthy if i % 3 == 0 else Status.healthy)
                         for i in range(10)] + [record(T0 + 5, name="slack")])  # fmt: skip

    page, total = backend.results("zoom", T0, T0 + 100, limit=4, offset=2)
    bad, bad_total = backend.results("zoom", T0, T0 + 100, status=Status.unhealthy)

    assert total == 10
    assert [r.checked_at for r in page] == [T0 + 7, T0 + 6, T0 + 5, T0 + 4]
    assert bad_total == 4
    assert {r.status for r in bad} == {Status.unhealthy}
    assert backend.results("zoom", T0 + 3, T0 + 5)[1] == 2  # [since, until)


def test_record_fields_round_trip(backend: Store) -> None:
    original = CheckRecord("stripe", T0, Status.unhealthy, "vendor_outage", 12.5, 503,
                           "outage", "Stripe reports an incident")  # fmt: skip
    backend.add_results([original])

    assert backend.results("stripe", T0, T0 + 1)[0] == [original]


def test_latest_per_integration(backend: Store) -> None:
    backend.add_results(
        [record(T0), record(T0 + 60, Status.degraded), record(T0 + 30, name="slack")]
    )

    latest = backend.latest(["zoom", "slack", "github"])

    assert set(latest) == {"zoom", "slack"}
    assert latest["zoom"].checked_at == T0 + 60
    assert latest["zoom"].status is Status.degraded
    assert latest["slack"].checked_at == T0 + 30


def test_counts_split_by_outcome_and_vendor(backend: Store) -> None:
    backend.add_results([
        record(T0, Status.healthy), record(T0 + 1, Status.degraded),
        record(T0 + 2, Status.unhealthy, category="timeout"),
        record(T0 + 3, Status.unhealthy, category="vendor_outage"),
        record(T0 + 4, Status.healthy, name="slack"),
    ])  # fmt: skip

    counts = rollups.counts(backend, ["zoom", "slack", "github"], T0, T0 + 10)

    zoom = counts["zoom"]
    assert (zoom.total, zoom.healthy, zoom.degraded, zoom.unhealthy, zoom.vendor_outage) == (
        4,
        1,
        1,
        2,
        1,
    )
    assert counts["slack"].total == 1
    assert counts["github"].total == 0


def test_latencies_skip_missing(backend: Store) -> None:
    backend.add_results([record(T0, latency_ms=10.0), record(T0 + 1, latency_ms=None)])

    assert backend.latencies("zoom", T0, T0 + 5) == [10.0]


def test_incidents_insert_update_and_query(backend: Store) -> None:
    closed = Incident(
        "zoom", T0, Status.unhealthy, "timeout", "Zoom did not answer", ended_at=T0 + 60
    )
    still_open = Incident("zoom", T0 + 120, Status.degraded, None, "slow")
    backend.save_incidents([closed, still_open])
    assert closed.id is not None
    assert still_open.id is not None

    still_open.worst_status = Status.unhealthy
    still_open.ended_at = T0 + 300
    backend.save_incidents([still_open])

    everything = backend.incidents("zoom", T0, T0 + 1000)
    assert [(i.started_at, i.ended_at, i.worst_status) for i in everything] == [
        (T0, T0 + 60, Status.unhealthy),
        (T0 + 120, T0 + 300, Status.unhealthy),
    ]
    assert backend.incidents(None, T0 + 61, T0 + 100) == []  # no overlap
    assert backend.incidents(None, 0, float("inf"), open_only=True) == []


def test_config_events(backend: Store) -> None:
    backend.add_config_events([ConfigEvent("zoom", T0, "ZOOM_API_KEY", "missing"),
                               ConfigEvent("zoom", T0 + 9, "ZOOM_API_KEY", "present")])  # fmt: skip

    events = backend.config_events("zoom", T0, T0 + 5)

    assert events == [ConfigEvent("zoom", T0, "ZOOM_API_KEY", "missing")]


def test_maintenance_rolls_up_then_prunes_and_counts_stay_the_same(backend: Store) -> None:
    # Three days of one check a minute, with an unhealthy hour on the first day.
    records = [
        record(T0 + minute * 60,
               Status.unhealthy if 600 <= minute < 660 else Status.healthy,
               latency_ms=float(minute % 100))
        for minute in range(3 * 24 * 60)
    ]  # fmt: skip
    backend.add_results(records)
    window = (T0, T0 + 3 * DAY)
    before = rollups.counts(backend, ["zoom"], *window)["zoom"]

    written, deleted = rollups.maintain(backend, now=T0 + 3 * DAY + 10, raw_retention=DAY)

    assert deleted == 2 * 24 * 60  # raw results older than one day are gone...
    assert written == 3 * 24 + 3  # ...after 72 hourly and 3 daily rollups were written
    after = rollups.counts(backend, ["zoom"], *window)["zoom"]
    assert (after.total, after.healthy, after.unhealthy) == (
        before.total,
        before.healthy,
        before.unhealthy,
    )
    first_day = rollups.counts(backend, ["zoom"], T0, T0 + DAY)["zoom"]
    assert (first_day.total, first_day.unhealthy) == (1440, 60)  # from rollups alone
    hours = backend.rollups("zoom", "hour", T0 + 10 * HOUR, T0 + 11 * HOUR)
    assert hours[0].counts.unhealthy == 60
    assert hours[0].latency_count == 60
    assert rollups.maintain(backend, now=T0 + 3 * DAY + 20, raw_retention=DAY) == (
        0,
        0,
    )  # idempotent


def test_counts_from_rollups_and_raw_equal_raw_alone(backend: Store) -> None:
    backend.add_results([
        record(T0 + minute * 60 + 7, Status.unhealthy if minute % 7 == 0 else Status.healthy)
        for minute in range(10 * 60)
    ])  # fmt: skip
    windows = [
        (T0, T0 + 10 * HOUR),
        (T0 + 1234, T0 + 5 * HOUR + 99),
        (T0 + 3 * HOUR, T0 + 3 * HOUR + 60),
    ]
    before = [rollups.counts(backend, ["zoom"], *w)["zoom"] for w in windows]

    rollups.maintain(
        backend, now=T0 + 8 * HOUR + 5, raw_retention=30 * DAY
    )  # rolls up, prunes nothing

    assert any(source == "rollups" for _, _, source in rollups.plan(backend, *windows[1]))
    assert [rollups.counts(backend, ["zoom"], *w)["zoom"] for w in windows] == before


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migrations_produce_exactly_the_declared_schema(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'h.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    store = SqlStore(url)
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    store.close()

    assert differences == []


def test_sqlite_reopens_with_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'history.db'}"  # the folder is created
    first = SqlStore(url)
    first.add_results([record(T0)])
    first.close()

    again = SqlStore(url)  # migrations run again, as a no-op

    assert again.results("zoom", T0, T0 + 1)[1] == 1
    again.close()


def test_hourly_counts_group_by_hour_and_match_across_rollups(backend: Store) -> None:
    backend.add_results([
        record(T0 + minute * 60 + 7,
               Status.unhealthy if minute % 7 == 0 else Status.healthy,
               category="vendor_outage" if minute % 14 == 0 else "timeout")
        for minute in range(5 * 60)
    ] + [record(T0 + 30, name="slack", status=Status.degraded)])  # fmt: skip

    raw = backend.raw_hourly_counts(["zoom", "slack", "github"], T0, T0 + 5 * HOUR)
    before = rollups.hourly_counts(backend, ["zoom", "slack"], T0, T0 + 5 * HOUR)
    rollups.maintain(backend, now=T0 + 3 * HOUR + 5, raw_retention=30 * DAY)
    after = rollups.hourly_counts(backend, ["zoom", "slack"], T0, T0 + 5 * HOUR)

    assert sorted(raw["zoom"]) == [T0 + h * HOUR for h in range(5)]
    first = raw["zoom"][T0]
    assert (first.total, first.unhealthy, first.vendor_outage) == (60, 9, 5)
    assert raw["slack"][T0].degraded == 1
    assert raw["github"] == {}
    assert after == before == {"zoom": raw["zoom"], "slack": raw["slack"]}


def test_processes_opening_a_new_sqlite_database_together_migrate_it_once(tmp_path: Path) -> None:
    """Two replicas (or ``serve`` and ``system``) starting at once on a new SQLite file: each
    waits for the other's migration instead of failing on a table it just created."""
    import threading

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    start = threading.Barrier(4)
    errors: list[str] = []

    def open_store() -> None:
        start.wait()
        try:
            SqlStore(url).close()
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
