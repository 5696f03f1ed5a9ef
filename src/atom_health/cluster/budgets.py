"""Provider request budgets for the whole fleet, counted in Redis by the ``limits`` library.

An integration's ``rate_limit`` (N requests per S seconds) then holds for all replicas
together, not N per replica: each call is a hit on a moving window kept in Redis. While
Redis is away, each replica spends its own token bucket of the same size instead (more
calls fleet-wide, bounded by the number of replicas, and never an outage).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from redis.exceptions import RedisError

from atom_health.cluster.link import RedisLink
from atom_health.services.rate_limit import RequestBudget, TokenBucket


class SharedBudgets:
    """A ``BudgetFactory`` (see :mod:`atom_health.services.rate_limit`) for the fleet."""

    def __init__(self, link: RedisLink, url: str) -> None:
        self.link = link
        storage = storage_from_string(
            f"async+{url}",
            implementation="redispy",
            key_prefix=link.key("budget"),
            socket_timeout=link.settings.operation_timeout_seconds,
            socket_connect_timeout=link.settings.operation_timeout_seconds,
        )
        self.limiter = MovingWindowRateLimiter(storage)

    def __call__(self, integration: str, requests: int, per_seconds: float) -> RequestBudget:
        item = RateLimitItemPerSecond(requests, max(1, math.ceil(per_seconds)))
        return SharedBudget(self, integration, item, TokenBucket(requests, per_seconds))


class SharedBudget:
    def __init__(
        self, fleet: SharedBudgets, integration: str, item: RateLimitItem, own: TokenBucket
    ) -> None:
        self.fleet, self.integration, self.item, self.own = fleet, integration, item, own

    async def take(self) -> float | None:
        if self.fleet.link.up:
            limiter = self.fleet.limiter
            try:
                if await limiter.hit(self.item, self.integration):
                    return None
                stats = await limiter.get_window_stats(self.item, self.integration)
                return max(0.0, stats.reset_time - time.time())
            except (RedisError, OSError) as exc:
                self.fleet.link.lost(exc)
        return await self.own.take()
