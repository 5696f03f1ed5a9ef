"""Per-service call metrics: the percentiles of the last ``window`` calls, whatever came first."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from atom_health.model.results import Category
from atom_health.model.stats import percentiles
from atom_health.services.metrics import CallMetrics

LATENCIES = st.lists(st.floats(min_value=0, max_value=60_000, allow_nan=False), max_size=60)


@given(LATENCIES, st.integers(min_value=1, max_value=16))
def test_percentiles_are_of_the_last_window_of_calls(latencies: list[float], window: int) -> None:
    metrics = CallMetrics(window)
    for index, latency in enumerate(latencies):
        metrics.record(latency, Category.timeout if index % 3 == 0 else None)

    stats = metrics.snapshot()

    last = latencies[-window:]
    assert (stats.latency_p50_ms, stats.latency_p95_ms, stats.latency_p99_ms) == percentiles(last)
    assert stats.calls == len(latencies)
    assert stats.errors == ({"timeout": len(latencies[::3])} if latencies else {})
