"""Scheduled checks handed out once across the fleet: a leased role and a Redis Stream.

- **The lease**: one replica at a time holds the scheduler role, a Redis lock (redis-py's
  ``Lock``) with a lease it renews every third of ``lease_seconds``. When its holder dies,
  the lease runs out and another replica takes the role.
- **The schedule** lives in Redis (a sorted set: integration -> next due time), so a new
  holder continues where the last one stopped. The holder moves each due integration to
  its next due time and appends it to the stream in one Lua script that first checks the
  lease is still its own (a fencing token): two replicas can never both hand out a check.
- **The work**: every replica reads the stream in one consumer group (``XREADGROUP``) up to
  its concurrency, runs each check and acknowledges it. Entries a dead replica had taken
  are claimed by the others (``XAUTOCLAIM``) once idle for ``claim_idle_seconds``; an
  entry whose successor is itself overdue is acknowledged without a check (the newer one
  runs), so a takeover checks at most once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, ResponseError

from atom_health.cluster.link import RedisLink, RedisUnavailable

log = logging.getLogger(__name__)

GROUP = "checkers"
HAND_OUT_BATCH = 500

# KEYS: lease, schedule, stream; ARGV: lease token, stream max length, then per check:
# integration, its next due time, the due time it was handed out for
_HAND_OUT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local n = 0
for i = 3, #ARGV, 3 do
  redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*',
             'integration', ARGV[i], 'due', ARGV[i + 2], 'next', ARGV[i + 1])
  n = n + 1
end
return n
"""


class SharedWork:
    """The fleet side of :class:`atom_health.scheduling.Scheduler` (its ``sharing``)."""

    def __init__(
        self,
        link: RedisLink,
        replica: str,
        intervals: Mapping[str, float],
        *,
        initial_spread: float,
        concurrency: int,
    ) -> None:
        self.link = link
        self.replica = replica
        self.intervals = dict(intervals)
        self.initial_spread = initial_spread
        self.concurrency = concurrency
        settings = link.settings
        self.lease_seconds = settings.lease_seconds
        self.claim_idle_ms = int(settings.claim_idle_seconds * 1000)
        self.lease_key = link.key("scheduler", "lease")
        self.schedule_key = link.key("scheduler", "due")
        self.stream_key = link.key("checks")
        self.stream_length = max(1000, 10 * len(self.intervals))
        self.leader = False
        self.handed_out = 0
        self._lease = Lock(
            link.client, self.lease_key, timeout=self.lease_seconds, thread_local=False
        )
        self._hand_out = link.client.register_script(_HAND_OUT)
        self._running: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def active(self) -> bool:
        """True while the fleet hands checks out; false while Redis is away (run alone)."""
        return self.link.up

    def start(self, run: Callable[[str], Awaitable[None]]) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._lead(), name="atom-health-lease"),
                asyncio.create_task(self._consume(run), name="atom-health-consumer"),
            ]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._running]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._running, return_exceptions=True)
        self._tasks = []
        if self.leader:  # let another replica take the role now rather than after the lease
            with contextlib.suppress(RedisUnavailable, LockError):
                await self.link.run(lambda _: self._lease.release())
            self.leader = False

    # -- the scheduler role ------------------------------------------------------------------

    async def _lead(self) -> None:
        token = f"{self.replica}:{random.getrandbits(64):x}"
        while True:
            next_due = time.time() + self.lease_seconds / 3
            try:
                if self.leader:
                    await self.link.run(lambda _: self._lease.reacquire())
                else:
                    self.leader = await self.link.run(
                        lambda _: self._lease.acquire(blocking=False, token=token)
                    )
                    if self.leader:
                        log.info("this replica holds the scheduler lease")
                        await self._seed()
                if self.leader:
                    next_due = min(next_due, await self._hand_out_due(token))
            except (RedisUnavailable, LockError, ResponseError) as exc:
                if self.leader:
                    log.warning("scheduler lease lost (%s)", type(exc).__name__)
                self.leader = False
            await asyncio.sleep(max(0.01, next_due - time.time()))

    async def _seed(self) -> None:
        """Put integrations missing from the schedule on it (spread out); drop unknown ones."""
        now = time.time()
        spread = {
            name: now + random.uniform(0, min(self.initial_spread, interval))
            for name, interval in self.intervals.items()
        }

        async def seed(r: Redis) -> None:
            known: Any = await r.zrange(self.schedule_key, 0, -1)
            gone = [name for name in known if name not in self.intervals]
            if gone:
                await r.zrem(self.schedule_key, *gone)
            await r.zadd(self.schedule_key, spread, nx=True)

        await self.link.run(seed)

    async def _hand_out_due(self, token: str) -> float:
        """Hand out what is due now; the time the next integration falls due."""
        now = time.time()
        due: Any = await self.link.run(
            lambda r: r.zrangebyscore(
                self.schedule_key, "-inf", now, start=0, num=HAND_OUT_BATCH, withscores=True
            )
        )
        if due:
            args: list[Any] = [token, self.stream_length]
            for name, at in due:
                interval = self.intervals.get(name)
                if interval is None:
                    continue
                following = float(at) + interval
                if following <= now:  # fell far behind (Redis was away): skip ahead
                    following = now + interval
                args += [name, following, at]
            handed = await self.link.run(
                lambda r: self._hand_out(keys=self._keys, args=args, client=r)
            )
            if handed < 0:
                raise LockError("the lease is held by another replica")
            self.handed_out += handed
            if len(due) == HAND_OUT_BATCH:
                return now
        first: Any = await self.link.run(
            lambda r: r.zrange(self.schedule_key, 0, 0, withscores=True)
        )
        return float(first[0][1]) if first else now + self.lease_seconds

    @property
    def _keys(self) -> list[str]:
        return [self.lease_key, self.schedule_key, self.stream_key]

    # -- the work ----------------------------------------------------------------------------

    async def _consume(self, run: Callable[[str], Awaitable[None]]) -> None:
        claimed_at = 0.0
        while True:
            try:
                if not self.link.up:
                    await asyncio.sleep(self.link.settings.retry_seconds)
                    continue
                room = self.concurrency - len(self._running)
                if room <= 0:
                    await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
                    continue
                entries: list[tuple[str, dict[str, str]]] = []
                if time.monotonic() - claimed_at > self.claim_idle_ms / 2000:
                    claimed_at = time.monotonic()
                    entries = await self._claim(room)
                if not entries:
                    entries = await self._read(room)
                for entry_id, fields in entries:
                    task = asyncio.create_task(self._work(run, entry_id, fields))
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
            except RedisUnavailable:
                continue
            except ResponseError as exc:
                if "NOGROUP" in str(exc):
                    await self._create_group()  # first start, or Redis came back empty
                else:
                    log.error("reading handed-out checks failed: %s", exc)
                    await asyncio.sleep(self.link.settings.retry_seconds)

    async def _read(self, room: int) -> list[tuple[str, dict[str, str]]]:
        streams: Any = await self.link.run(
            lambda r: r.xreadgroup(
                GROUP,
                self.replica,
                {self.stream_key: ">"},
                count=room,
                block=self.link.block_ms,
            )
        )
        return [entry for _, entries in streams or [] for entry in entries]

    async def _claim(self, room: int) -> list[tuple[str, dict[str, str]]]:
        """Entries other consumers took and left idle too long (they died): ours now."""
        reply: Any = await self.link.run(
            lambda r: r.xautoclaim(
                self.stream_key, GROUP, self.replica, self.claim_idle_ms, "0-0", count=room
            )
        )
        claimed: list[tuple[str, dict[str, str]]] = [
            (entry_id, fields) for entry_id, fields in reply[1] if fields
        ]
        if claimed:
            log.info("took over %d checks from a replica that stopped", len(claimed))
        await self._forget_gone_consumers()
        return claimed

    async def _forget_gone_consumers(self) -> None:
        """Drop consumers of stopped replicas (each process is a new one) once they hold
        nothing and have been silent for ten claim periods."""
        consumers: Any = await self.link.run(lambda r: r.xinfo_consumers(self.stream_key, GROUP))
        gone = [
            c["name"]
            for c in consumers
            if c["pending"] == 0 and c["idle"] > 10 * self.claim_idle_ms
        ]
        if gone:

            async def forget(r: Redis) -> None:
                for name in gone:
                    await r.xgroup_delconsumer(self.stream_key, GROUP, name)

            await self.link.run(forget)

    async def _create_group(self) -> None:
        with contextlib.suppress(ResponseError):  # BUSYGROUP: another replica made it
            await self.link.run(
                lambda r: r.xgroup_create(self.stream_key, GROUP, id="0", mkstream=True)
            )

    async def _work(
        self, run: Callable[[str], Awaitable[None]], entry_id: str, fields: dict[str, str]
    ) -> None:
        name = fields.get("integration", "")
        interval = self.intervals.get(name)
        # Stale once the integration's next entry is itself overdue (it is queued or done),
        # never merely late: a busy replica runs what it took, however late.
        if interval is not None and float(fields.get("next", 0)) + interval > time.time():
            await run(name)  # never raises: the scheduler logs a failing check
        with contextlib.suppress(RedisUnavailable):  # unacknowledged: claimed, then skipped
            await self.link.run(lambda r: r.xack(self.stream_key, GROUP, entry_id))
