"""Bounded retries with exponential backoff and full jitter, honouring ``Retry-After``."""

from __future__ import annotations

import random
from dataclasses import dataclass

from atom_health.model.results import Category

RETRYABLE = frozenset(
    {Category.timeout, Category.connect, Category.dns, Category.server_error, Category.rate_limited}
)


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
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**retries_done))
