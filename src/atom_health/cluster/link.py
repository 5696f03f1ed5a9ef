"""The replica's connection to Redis, with a circuit: Redis trouble is never an outage.

Every use of Redis goes through :meth:`RedisLink.run`. When Redis cannot be reached (a
refused or broken connection, or three timeouts in a row), the link opens (``up`` is
false), every use fails fast with :class:`RedisUnavailable` and the callers carry on alone;
a background task tries Redis again every ``retry_seconds`` and closes the link when it
answers, so cooperation resumes by itself. Errors are logged by type only: a Redis URL may
carry a password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from atom_health.config import ClusterSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

_TROUBLE = (RedisConnectionError, RedisTimeoutError, OSError)
MAX_CONNECTIONS = 64
POOL_WAIT_SECONDS = 10.0
TIMEOUTS_TO_OPEN = 3  # one slow answer (a busy machine) is not Redis gone; three in a row are


class RedisUnavailable(Exception):
    """Redis cannot be reached now; the replica works alone until it can."""


class RedisLink:
    def __init__(self, url: str, settings: ClusterSettings) -> None:
        self.settings = settings
        timeout = settings.operation_timeout_seconds
        no_retry = Retry(NoBackoff(), 0)  # fail fast: the circuit, not a retry loop, decides
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,  # a burst of checks waits for one, never floods
            timeout=POOL_WAIT_SECONDS,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=no_retry,
            decode_responses=True,
        )
        self.client: Redis = Redis(connection_pool=pool, retry=no_retry)
        self.up = False
        self._timeouts = 0
        self.changed_at = time.time()
        self._watcher: asyncio.Task[None] | None = None

    def key(self, *parts: str) -> str:
        """A key in our namespace, e.g. ``atom-health:result:zoom``."""
        return ":".join((self.settings.key_prefix, *parts))

    @property
    def block_ms(self) -> int:
        """How long a blocking read may wait: well inside the socket timeout."""
        return max(50, int(self.settings.operation_timeout_seconds * 500))

    async def run(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """``operation(client)``; :class:`RedisUnavailable` at once while the link is open."""
        if not self.up:
            raise RedisUnavailable
        try:
            result = await operation(self.client)
        except RedisTimeoutError as exc:
            self._timeouts += 1
            if self._timeouts >= TIMEOUTS_TO_OPEN:
                self.lost(exc)
            raise RedisUnavailable from None
        except _TROUBLE as exc:
            self.lost(exc)
            raise RedisUnavailable from None
        self._timeouts = 0
        return result

    def lost(self, exc: BaseException) -> None:
        """Open the circuit after a connection failure seen anywhere (pub/sub included)."""
        self._timeouts = 0
        if self.up:
            self.up = False
            self.changed_at = time.time()
            log.warning(
                "Redis unreachable (%s): this replica carries on alone until it is back",
                type(exc).__name__,
            )

    async def start(self) -> None:
        """Try Redis once now (a replica starts even when it is down) and keep watching."""
        await self._try()
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="atom-health-redis-link")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        with contextlib.suppress(*_TROUBLE):
            await self.client.aclose()
        self.up = False

    async def _try(self) -> None:
        try:
            await self.client.connection_pool.disconnect()  # sockets of a Redis that went away
            await self.client.ping()
        except _TROUBLE as exc:
            log.debug("Redis still unreachable (%s)", type(exc).__name__)
            return
        if not self.up:
            self.up = True
            self.changed_at = time.time()
            log.info("Redis reachable: this replica cooperates with the fleet")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.retry_seconds)
            if not self.up:
                await self._try()
