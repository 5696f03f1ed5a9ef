"""One cache, one flight and one stream of results for the whole fleet.

- **Cache**: each fresh result is stored in Redis for ``cache_ttl_seconds`` (Redis expires
  it), so a replica that did not check an integration still answers from the fleet's result.
- **Flight**: a live check of one integration takes a Redis lock (``SET NX PX``) first; a
  replica that finds it taken waits for the holder's result instead of calling the provider
  again. A holder that dies lets its lock expire; its waiters then check themselves.
- **Fan-out**: each fresh result is published (pub/sub) with the replica that produced it;
  every other replica adopts it (cache, dashboard, live event stream).

Storing the result, publishing it and releasing the lock are one Lua script, so no
replica can see the lock free before the result is there. Nothing stored is secret: results
name variables, never their values.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from atom_health.cluster.link import RedisLink, RedisUnavailable
from atom_health.model.results import ServiceHealth

log = logging.getLogger(__name__)

# KEYS: result key, flight key; ARGV: result JSON, ttl ms, channel, message, flight token
_FINISH = """
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
if redis.call('GET', KEYS[2]) == ARGV[5] then redis.call('DEL', KEYS[2]) end
return 1
"""
# KEYS: flight key; ARGV: flight token
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
_SEPARATOR = "\n"  # message = replica id, separator, result JSON


class SharedResults:
    """What the engine asks of the fleet (``HealthMonitor.fleet``); see the module doc."""

    def __init__(
        self, link: RedisLink, replica: str, cache_ttl_seconds: float, flight_seconds: float
    ) -> None:
        self.link = link
        self.replica = replica
        self.ttl_ms = int(cache_ttl_seconds * 1000)
        self.flight_seconds = flight_seconds
        self.channel = link.key("results")
        self._finish = link.client.register_script(_FINISH)
        self._release = link.client.register_script(_RELEASE)
        self._adopters: list[Callable[[ServiceHealth], object]] = []
        self._waiters: dict[str, list[asyncio.Future[ServiceHealth]]] = {}
        self._listener: asyncio.Task[None] | None = None

    def on_remote(self, callback: Callable[[ServiceHealth], object]) -> None:
        """Call ``callback`` with every result another replica produced (in the event loop)."""
        self._adopters.append(callback)

    async def shared(self, name: str) -> ServiceHealth | None:
        """The fleet's cached result for ``name`` while its TTL lasts; None without one."""
        try:
            text = await self.link.run(lambda r: r.get(self.link.key("result", name)))
        except RedisUnavailable:
            return None
        return _parse(text) if isinstance(text, str) else None

    async def once(
        self,
        name: str,
        check: Callable[[], Awaitable[ServiceHealth]],
        fits: Callable[[ServiceHealth], bool],
    ) -> ServiceHealth:
        """``check()``, unless another replica is checking ``name`` now: then its result
        (when it ``fits`` this replica's configuration). Alone, simply ``check()``."""
        token = uuid.uuid4().hex
        flight = self.link.key("flight", name)
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(name, []).append(waiter)  # before the lock: no result missed
        try:
            taken = await self.link.run(
                lambda r: r.set(flight, token, nx=True, px=int(self.flight_seconds * 1000))
            )
        except RedisUnavailable:
            self._forget(name, waiter)
            return await check()
        if taken:
            self._forget(name, waiter)
            try:
                result = await check()
            except BaseException:  # cancelled: free the flight now, not when its lock expires
                with contextlib.suppress(RedisUnavailable):
                    await self.link.run(
                        lambda r: self._release(keys=[flight], args=[token], client=r)
                    )
                raise
            await self._finish_flight(result, flight, token)
            return result
        try:
            theirs = await asyncio.wait_for(waiter, self.flight_seconds)
        except TimeoutError:  # the holder died or Redis went away: check here
            return await check()
        finally:
            self._forget(name, waiter)
        return theirs if fits(theirs) else await check()

    async def _finish_flight(self, result: ServiceHealth, flight: str, token: str) -> None:
        body = result.model_dump_json()
        message = f"{self.replica}{_SEPARATOR}{body}"
        keys = [self.link.key("result", result.service), flight]
        with contextlib.suppress(RedisUnavailable):
            await self.link.run(
                lambda r: self._finish(
                    keys=keys, args=[body, self.ttl_ms, self.channel, message, token], client=r
                )
            )

    def _forget(self, name: str, waiter: asyncio.Future[ServiceHealth]) -> None:
        waiting = self._waiters.get(name, [])
        if waiter in waiting:
            waiting.remove(waiter)
        if not waiting:
            self._waiters.pop(name, None)
        waiter.cancel()

    # -- fan-out -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="atom-health-fleet-results")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self) -> None:
        """Subscribe while Redis is reachable; resubscribe after it comes back."""
        while True:
            if not self.link.up:
                await asyncio.sleep(self.link.settings.retry_seconds)
                continue
            try:
                await self._receive(self.link.client)
            except (RedisError, OSError) as exc:
                self.link.lost(exc)

    async def _receive(self, client: Redis) -> None:
        async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(self.channel)
            while self.link.up:
                message = await pubsub.get_message(timeout=self.link.block_ms / 1000)
                if message is not None and isinstance(message.get("data"), str):
                    self._received(message["data"])

    def _received(self, message: str) -> None:
        origin, _, body = message.partition(_SEPARATOR)
        if origin == self.replica:
            return
        result = _parse(body)
        if result is None:
            return
        for callback in self._adopters:
            try:
                callback(result)
            except Exception as exc:  # a broken adopter must not stop the fan-out
                log.error("fleet result adopter %r failed: %s", callback, type(exc).__name__)
        for waiter in self._waiters.pop(result.service, []):
            if not waiter.done():
                waiter.set_result(result)


def _parse(text: str) -> ServiceHealth | None:
    try:
        return ServiceHealth.model_validate_json(text)
    except ValidationError:
        log.warning("ignored a malformed shared result")
        return None
