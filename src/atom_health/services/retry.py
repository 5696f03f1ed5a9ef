"""Retries: one backoff schedule (exponential, full jitter) for every retry loop, and the
policy for provider calls (bounded, transient failures only, honouring ``Retry-After``)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from atom_health.model.results import Category

RETRYABLE = frozenset(
    {Category.timeout, Category.connect, Category.dns, Category.server_error, Category.rate_limited}
)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**failures))``.

    The one schedule for every loop that waits before trying again (provider calls,
    notification delivery, the client's watch).
    """

    base: float = 0.5
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (0 for the first retry)."""
        return random.uniform(0, min(self.cap, self.base * 2**failures))


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay: float = 0.2
    max_delay: float = 2.0
    retry_after_cap: float = 5.0

    def should_retry(self, category: Category, retries_done: int) -> bool:
        """Transient failures only; a rejected credential or a refusal is never retried."""
        return category in RETRYABLE and retries_done < self.max_retries

    def delay(self, retries_done: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``retries_done + 1``."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        return Backoff(self.base_delay, self.max_delay).delay(retries_done)
