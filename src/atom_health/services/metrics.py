"""Per-service call metrics: counts, errors by category, latency percentiles, success rate."""

from __future__ import annotations

from collections import Counter, deque

from pydantic import BaseModel

from atom_health.model.results import Category
from atom_health.model.stats import percentiles


class CallStats(BaseModel):
    calls: int
    successes: int
    errors: dict[str, int]
    success_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None


class CallMetrics:
    """Counts every call once, by its final outcome. Latencies keep the last ``window`` calls."""

    def __init__(self, window: int = 1024) -> None:
        self.calls = 0
        self.successes = 0
        self.errors: Counter[Category] = Counter()
        self._latencies: deque[float] = deque(maxlen=window)

    def record(self, latency_ms: float, failure: Category | None) -> None:
        self.calls += 1
        self._latencies.append(latency_ms)
        if failure is None:
            self.successes += 1
        else:
            self.errors[failure] += 1

    def snapshot(self) -> CallStats:
        p50, p95, p99 = percentiles(list(self._latencies))
        return CallStats(
            calls=self.calls,
            successes=self.successes,
            errors={category.value: count for category, count in self.errors.items()},
            success_rate=round(self.successes / self.calls, 4) if self.calls else None,
            latency_p50_ms=p50,
            latency_p95_ms=p95,
            latency_p99_ms=p99,
        )
