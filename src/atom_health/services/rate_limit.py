"""A token bucket per integration, so checks stay inside a provider's request budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class RequestBudget(Protocol):
    """A provider's request budget: this process's :class:`TokenBucket`, or one shared by a
    fleet of replicas (:mod:`atom_health.cluster`)."""

    async def take(self) -> float | None:
        """Spend one call: None when it may go now, else the seconds until one may."""


BudgetFactory = Callable[[str, int, float], RequestBudget]
"""Makes the budget of an integration: ``(integration id, requests, per_seconds)``."""


class TokenBucket:
    """``requests`` calls per ``per_seconds``, refilled continuously, bursting up to ``requests``."""

    def __init__(
        self, requests: int, per_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = float(requests)
        self.rate = requests / per_seconds
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_acquire(self) -> bool:
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    async def take(self) -> float | None:
        return None if self.try_acquire() else self.wait_seconds()

    def wait_seconds(self) -> float:
        """How long until one call is allowed."""
        self._refill()
        return max(0.0, (1 - self._tokens) / self.rate)
