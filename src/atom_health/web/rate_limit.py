"""Inbound rate limits per client, with the ``limits`` library.

Storage is in memory per process by default; a ``redis://`` (or ``rediss://``) storage URI
shares the counts between replicas, through redis-py (the ``redis`` extra). A fixed window
per client: one counter, constant cost per request whatever the limit. While that
storage cannot be reached, each process counts alone, in memory, as replicas carry on
alone while Redis is away.
"""

from __future__ import annotations

import functools
import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import ConfigurationError
from limits.storage import storage_from_string

from atom_health.model.errors import ConfigError

log = logging.getLogger(__name__)


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
        options = {"implementation": "redispy"} if scheme.startswith("redis") else {}
        try:
            storage = storage_from_string(f"async+{storage_uri}", **options)
        except ConfigurationError:  # the URI may hold a password: never echo it
            raise ConfigError(
                f"security.rate_limit_storage: {scheme}:// storage is not usable here "
                "(for Redis: pip install 'atom-health[redis]')"
            ) from None
        self._limiter = FixedWindowRateLimiter(storage)
        self._alone = (
            None
            if scheme == "memory"
            else FixedWindowRateLimiter(storage_from_string("async+memory://"))
        )
        self._shared_down = False
        # Each client's storage keys, made once: building them was half a check's cost.
        self._keys = functools.lru_cache(maxsize=4096)(self._keys_of)

    def _keys_of(self, client: str) -> tuple[str, ...]:
        return tuple(item.key_for(client) for item in self._items)

    async def check(self, client: str) -> float | None:
        try:
            wait = await self._check(self._limiter, client)
        except Exception as exc:  # the shared storage is away: count alone until it is back
            if self._alone is None:
                raise
            if not self._shared_down:
                log.warning(
                    "rate-limit storage unreachable (%s); counting in memory", type(exc).__name__
                )
                self._shared_down = True
            return await self._check(self._alone, client)
        if self._shared_down:
            log.warning("rate-limit storage reachable again")
            self._shared_down = False
        return wait

    async def _check(self, limiter: FixedWindowRateLimiter, client: str) -> float | None:
        refused: list[RateLimitItem] = []
        for item, key in zip(self._items, self._keys(client), strict=True):
            # What ``limiter.hit(item, client)`` does, with the client's key made once.
            if await limiter.storage.incr(key, item.get_expiry()) > item.amount:
                refused.append(item)
        if not refused:
            return None
        wait = 1.0
        for item in refused:
            stats = await limiter.get_window_stats(item, client)
            wait = max(wait, stats.reset_time - time.time())
        return float(math.ceil(wait))


def limiter_for(
    limits: str, storage_uri: str | None, redis_url: str | None
) -> InboundLimiter | None:
    """The limiter for ``security.rate_limit`` (None when turned off: empty), counting in
    ``storage_uri``, else in the replicas' Redis, else in memory."""
    if not limits.strip():
        return None
    return InboundLimiter(limits, storage_uri or redis_url or "memory://")
