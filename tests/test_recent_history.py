"""The in-memory recent history: loaded from the store, kept current from results, and
reloaded each hour without losing or double-counting a check."""

from __future__ import annotations

from datetime import UTC, datetime

from atom_health.history.recent import RecentHistory
from atom_health.history.rollups import DAY, HOUR
from atom_health.model.history import CheckRecord
from atom_health.model.results import (
    ApiAccessCheck,
    Checks,
    CheckStatus,
    ConfigurationCheck,
    Criticality,
    ServiceHealth,
    Status,
)
from atom_health.store import MemoryStore

T0 = 1_790_000_000.0 - (1_790_000_000.0 % DAY)  # a UTC midnight


def result(at: float, status: Status = Status.healthy, latency: float = 50.0) -> ServiceHealth:
    configuration = ConfigurationCheck(status=CheckStatus.passed, configured=True,
                                       required_env_vars=[], present_env_vars=[],
                                       missing_env_vars=[], configuration_percentage=100)  # fmt: skip
    return ServiceHealth(
        status=status, service="zoom", name="Zoom", criticality=Criticality.critical,
        timestamp=datetime.fromtimestamp(at, UTC), configured=True, message="",
        checks=Checks(configuration=configuration,
                      api_access=ApiAccessCheck(status=CheckStatus.passed, message="", latency_ms=latency)),
    )  # fmt: skip


def test_load_observe_and_reload_count_each_check_once() -> None:
    store = MemoryStore()
    stored = [
        CheckRecord("zoom", T0 + 5 * HOUR + m * 60, Status.healthy, latency_ms=float(m))
        for m in range(90)
    ]  # fmt: skip: 10:00-11:30 minus five hours
    store.add_results(stored)
    recent = RecentHistory(store, ["zoom", "slack"])
    now = T0 + 6 * HOUR + 30 * 60

    recent.apply(recent.load(now, current=True))
    hours = recent.hours("zoom")
    assert (hours[T0 + 5 * HOUR].total, hours[T0 + 6 * HOUR].total) == (60, 30)
    assert recent.latencies("zoom") == [float(m) for m in range(50, 90)]
    assert recent.last_checked("zoom") == T0 + 5 * HOUR + 89 * 60

    late = [result(T0 + 6 * HOUR + 40 * 60, Status.unhealthy), result(T0 + 7 * HOUR + 60)]
    version = recent.version
    for r in late:
        recent.observe(r)
        store.add_results([CheckRecord.of(r)])  # what the recorder does
    assert recent.version == version + 2
    assert recent.hours("zoom")[T0 + 6 * HOUR].unhealthy == 1
    assert recent.uptime("zoom", T0 + 6 * HOUR) == 100 * 31 / 32

    recent.apply(recent.load(T0 + 7 * HOUR + 120, current=False))  # the hourly reload
    hours = recent.hours("zoom")
    assert (hours[T0 + 5 * HOUR].total, hours[T0 + 6 * HOUR].total, hours[T0 + 7 * HOUR].total) == (
        60,
        31,
        1,
    )
    assert recent.hours("slack") == {}
    assert recent.latencies("zoom")[-1] == 50.0
    assert len(recent.latencies("zoom")) == 40
    assert recent.last_checked("zoom") == T0 + 7 * HOUR + 60
