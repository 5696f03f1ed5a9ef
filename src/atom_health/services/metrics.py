"""Per-service call metrics: counts, errors by category, latency percentiles, success rate;
overall and per operation (``contacts.list``, ``probe``, ``oauth.refresh``, ...)."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter, deque

from atom_health.model.results import CallStats, Category
from atom_health.model.stats import sorted_percentiles


class CallMetrics:
    """Counts every call once, by its final outcome. Latencies keep the last ``window`` calls."""

    def __init__(self, window: int = 1024) -> None:
        self.calls = 0
        self.successes = 0
        self.errors: Counter[Category] = Counter()
        self.latency_sum_ms = 0.0
        self._latencies: deque[float] = deque(maxlen=window)
        # The same latencies kept sorted: a snapshot (one per result) needs no sort.
        self._ordered: list[float] = []

    def record(self, latency_ms: float, failure: Category | None) -> None:
        self.calls += 1
        self.latency_sum_ms += latency_ms
        if len(self._latencies) == self._latencies.maxlen:
            del self._ordered[bisect_left(self._ordered, self._latencies[0])]
        self._latencies.append(latency_ms)
        insort(self._ordered, latency_ms)
        if failure is None:
            self.successes += 1
        else:
            self.errors[failure] += 1

    def snapshot(self) -> CallStats:
        p50, p95, p99 = sorted_percentiles(self._ordered)
        return CallStats(
            calls=self.calls,
            successes=self.successes,
            errors={category.value: count for category, count in self.errors.items()},
            success_rate=round(self.successes / self.calls, 4) if self.calls else None,
            latency_p50_ms=p50,
            latency_p95_ms=p95,
            latency_p99_ms=p99,
        )


class OperationMetrics:
    """:class:`CallMetrics` per operation name. Names come from code, so their number is bounded."""

    def __init__(self, window: int = 256) -> None:
        self._window = window
        self.by_operation: dict[str, CallMetrics] = {}

    def record(self, operation: str, latency_ms: float, failure: Category | None) -> None:
        metrics = self.by_operation.get(operation)
        if metrics is None:
            metrics = self.by_operation[operation] = CallMetrics(self._window)
        metrics.record(latency_ms, failure)

    def snapshot(self) -> dict[str, CallStats]:
        return {name: m.snapshot() for name, m in sorted(self.by_operation.items())}
