"""A circuit breaker per integration: stop calling a provider that keeps failing.

Closed: calls flow. After ``threshold`` consecutive failures it opens: calls are refused
for ``reset_after`` seconds. Then it is half-open: one trial call goes through; success
closes it, failure opens it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from atom_health.model.results import BreakerSnapshot, BreakerState, Category


class CircuitBreaker:
    def __init__(
        self,
        threshold: int = 5,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self.last_failure: Category | None = None

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self.reset_after else "open"

    def allow(self) -> bool:
        """May a call go out now? In half-open state, only one trial at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False
        self.last_failure = None

    def record_failure(self, category: Category) -> None:
        self._failures += 1
        self.last_failure = category
        if self._trial_running or self._failures >= self.threshold:
            self._opened_at = self._clock()
        self._trial_running = False

    def snapshot(self) -> BreakerSnapshot:
        state = self.state
        retry_in = None
        if state == "open" and self._opened_at is not None:
            retry_in = round(self.reset_after - (self._clock() - self._opened_at), 1)
        return BreakerSnapshot(
            state=state,
            consecutive_failures=self._failures,
            retry_in_seconds=retry_in,
        )
