"""Inbound rate limits per client, with the ``limits`` library.

Storage is in memory per process by default; a ``redis://`` (or ``rediss://``) storage URI
shares the counts between replicas (it needs a Redis client library: ``coredis``, or
``redis`` with ``?implementation=redispy``).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import ConfigurationError
from limits.storage import storage_from_string

from atom_health.model.errors import ConfigError


class InboundLimiter:
    """``await limiter.check(client)`` is None when allowed, else the seconds to wait."""

    def __init__(self, limits: str, storage_uri: str) -> None:
        try:
            self._items: list[RateLimitItem] = parse_many(limits)
        except ValueError:
            raise ConfigError(
                f"security.rate_limit: cannot read {limits!r}; write e.g. '600/minute'"
            ) from None
        scheme = storage_uri.partition("://")[0]
        try:
            storage = storage_from_string(f"async+{storage_uri}")
        except ConfigurationError:  # the URI may hold a password: never echo it
            raise ConfigError(
                f"security.rate_limit_storage: {scheme}:// storage is not usable here "
                "(for Redis, install coredis)"
            ) from None
        self._limiter = MovingWindowRateLimiter(storage)

    async def check(self, client: str) -> float | None:
        refused: list[RateLimitItem] = []
        for item in self._items:
            if not await self._limiter.hit(item, client):
                refused.append(item)
        if not refused:
            return None
        wait = 1.0
        for item in refused:
            stats = await self._limiter.get_window_stats(item, client)
            wait = max(wait, stats.reset_time - time.time())
        return float(math.ceil(wait))


def limiter_for(limits: str, storage_uri: str) -> InboundLimiter | None:
    """The limiter for ``security.rate_limit``; None when limits are turned off (empty)."""
    return InboundLimiter(limits, storage_uri) if limits.strip() else None
