"""The in-memory recent history: loaded from the store, kept current from results, and
reloaded each hour without losing or double-counting a check."""

from __future__ import annotations

from datetime import UTC, datetime

from atom_health.history.recent import RecentHistory, uptime
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
    assert [h.total for h in recent.by_hour("zoom", T0 + 4 * HOUR, 3)] == [0, 60, 30]
    assert recent.by_day("zoom", T0 - DAY, 2)[1].total == 90
    assert recent.latencies("zoom") == [float(m) for m in range(50, 90)]
    assert recent.last_checked("zoom") == T0 + 5 * HOUR + 89 * 60

    late = [result(T0 + 6 * HOUR + 40 * 60, Status.unhealthy), result(T0 + 7 * HOUR + 60)]
    version = recent.version
    for r in late:
        recent.observe(r)
        store.add_results([CheckRecord.of(r)])  # what the recorder does
    assert recent.version == version + 2
    assert recent.by_hour("zoom", T0 + 6 * HOUR, 1)[0].unhealthy == 1
    assert uptime(recent.by_hour("zoom", T0 + 6 * HOUR, 2)) == 100 * 31 / 32
    assert recent.by_day("zoom", T0, 1)[0].total == 92

    recent.apply(recent.load(T0 + 7 * HOUR + 120, current=False))  # the hourly reload
    assert [h.total for h in recent.by_hour("zoom", T0 + 5 * HOUR, 3)] == [60, 31, 1]
    assert recent.by_day("zoom", T0, 1)[0].total == 92
    assert {h.total for h in recent.by_day("slack", T0 - 29 * DAY, 30)} == {0}
    assert recent.latencies("zoom")[-1] == 50.0
    assert len(recent.latencies("zoom")) == 40
    assert recent.last_checked("zoom") == T0 + 7 * HOUR + 60
