"""Inbound rate limits per client: ``limits`` reads them and keeps shared counts.

A fixed window per client and limit: the window opens at the client's first request and
lasts the limit's period; one counter, constant cost per request whatever the limit.

Counts are kept in this process by default (:class:`LocalWindows`). A ``redis://`` (or
``rediss://``, or any other ``limits``) storage URI shares them between replicas, through
``limits`` and redis-py (the ``redis`` extra); while that storage cannot be reached, each
process counts alone, as replicas carry on alone while Redis is away.

Counting in this process does not use ``limits``' memory storage: it starts an asyncio
task on every hit to expire old counts, which made the rate limit the largest single cost
of a cached answer (``bench/bench_middleware.py``).
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

PRUNE_FROM = 10_000  # windows kept before the ended ones are dropped


class LocalWindows:
    """Fixed windows counted in this process: for each key, when its window ends and how
    many requests it has seen. Ended windows are dropped once there are many (memory stays
    bounded by the windows still open)."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._prune_at = PRUNE_FROM

    def hit(self, key: str, seconds: float, now: float) -> tuple[int, float]:
        """Count a request: (requests in the key's window so far, when the window ends)."""
        ends, count = self._windows.get(key, (0.0, 0))
        if now >= ends:
            ends, count = now + seconds, 0
        self._windows[key] = (ends, count + 1)
        if len(self._windows) > self._prune_at:
            self._prune(now)
        return count + 1, ends

    def _prune(self, now: float) -> None:
        self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
        # Many clients at once keep their windows: prune again only once they have doubled.
        self._prune_at = max(PRUNE_FROM, 2 * len(self._windows))


class InboundLimiter:
    """``await limiter.check(client)`` is None when allowed, else the seconds to wait."""

    def __init__(self, limits: str, storage_uri: str) -> None:
        try:
            self._items: list[RateLimitItem] = parse_many(limits)
        except ValueError:
            raise ConfigError(
                f"security.rate_limit: cannot read {limits!r}; write e.g. '600/minute'"
            ) from None
        self._windows = [(item.amount, item.get_expiry()) for item in self._items]  # read once
        scheme = storage_uri.partition("://")[0]
        self._shared = None if scheme == "memory" else _shared_limiter(storage_uri, scheme)
        self._local = LocalWindows()  # the counts, or the fallback while shared ones are away
        self._shared_down = False
        # Each client's keys, made once: building them cost as much as counting.
        self._keys = functools.lru_cache(maxsize=4096)(self._keys_of)

    def _keys_of(self, client: str) -> tuple[str, ...]:
        return tuple(item.key_for(client) for item in self._items)

    async def check(self, client: str) -> float | None:
        if self._shared is None:
            return self._check_here(client)
        try:
            wait = await self._check_shared(self._shared, client)
        except Exception as exc:  # the shared storage is away: count alone until it is back
            if not self._shared_down:
                log.warning(
                    "rate-limit storage unreachable (%s); counting in memory", type(exc).__name__
                )
                self._shared_down = True
            return self._check_here(client)
        if self._shared_down:
            log.warning("rate-limit storage reachable again")
            self._shared_down = False
        return wait

    def _check_here(self, client: str) -> float | None:
        now = time.time()
        wait: float | None = None
        for (amount, seconds), key in zip(self._windows, self._keys(client), strict=True):
            count, ends = self._local.hit(key, seconds, now)
            if count > amount:
                wait = max(wait or 0.0, ends - now)
        return None if wait is None else _seconds(wait)

    async def _check_shared(self, limiter: FixedWindowRateLimiter, client: str) -> float | None:
        refused: list[RateLimitItem] = []
        windows = zip(self._items, self._windows, self._keys(client), strict=True)
        for item, (amount, seconds), key in windows:
            # What ``limiter.hit(item, client)`` does, with the client's key made once.
            if await limiter.storage.incr(key, seconds) > amount:
                refused.append(item)
        if not refused:
            return None
        wait = 0.0
        for item in refused:
            stats = await limiter.get_window_stats(item, client)
            wait = max(wait, stats.reset_time - time.time())
        return _seconds(wait)


def _seconds(wait: float) -> float:
    """Whole seconds to wait, at least one (Retry-After counts in seconds)."""
    return float(max(1, math.ceil(wait)))


def _shared_limiter(storage_uri: str, scheme: str) -> FixedWindowRateLimiter:
    options = {"implementation": "redispy"} if scheme.startswith("redis") else {}
    try:
        storage = storage_from_string(f"async+{storage_uri}", **options)
    except ConfigurationError:  # the URI may hold a password: never echo it
        raise ConfigError(
            f"security.rate_limit_storage: {scheme}:// storage is not usable here "
            "(for Redis: pip install 'atom-health[redis]')"
        ) from None
    return FixedWindowRateLimiter(storage)


def limiter_for(
    limits: str, storage_uri: str | None, redis_url: str | None
) -> InboundLimiter | None:
    """The limiter for ``security.rate_limit`` (None when turned off: empty), counting in
    ``storage_uri``, else in the replicas' Redis, else in this process."""
    if not limits.strip():
        return None
    return InboundLimiter(limits, storage_uri or redis_url or "memory://")
