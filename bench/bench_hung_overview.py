"""The overview with one hung provider: answer time when uncached (within the batch
deadline, the hung line pending), when cached (stale-while-revalidate), and the old way
(waiting for every check), beside the same overview with every provider answering.

All 14 built-in integrations against the simulator on loopback; Stripe never answers
(each of its checks gives up after the 10 s deadline). Times are medians of 5 runs.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from atom_health.catalog import build_catalog
from atom_health.config import Settings
from atom_health.monitor import HealthMonitor
from atom_health.simulator import Simulator

RUNS = 5


async def timed(run: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await run()
    return time.perf_counter() - started


async def median_of(run: Callable[[], Awaitable[object]], runs: int = RUNS) -> float:
    return statistics.median([await timed(run) for _ in range(runs)])


async def measure(sim: Simulator) -> None:
    env = sim.environment()
    settings = Settings(batch_deadline_seconds=2.0)

    def monitor(cache_ttl: float = 30.0) -> HealthMonitor:
        chosen = settings.model_copy(update={"cache_ttl_seconds": cache_ttl})
        return HealthMonitor(build_catalog(chosen, env), settings=chosen, environ=env)

    async with monitor() as healthy:
        await healthy.check_many(refresh=True)  # tokens granted, connections open
        baseline = await median_of(lambda: healthy.check_many_within(refresh=True))

    sim.set_fault("stripe", "hang")
    async with monitor() as uncached:
        await uncached.check_many(refresh=True)
        fresh = await median_of(lambda: uncached.check_many_within(refresh=True))
    async with monitor(cache_ttl=0) as cached:
        sim.set_fault("stripe", None)
        await cached.check_many(refresh=True)
        sim.set_fault("stripe", "hang")
        stale = await median_of(lambda: cached.check_many_within())
    async with monitor() as waiting:
        old_way = await timed(lambda: waiting.check_many(refresh=True))
    sim.set_fault("stripe", None)

    print("Overview of 14 integrations, Stripe hung (10 s check deadline), batch deadline 2 s")
    print(f"  every provider answering (baseline)        {baseline * 1000:8.1f} ms   1.0x")
    for label, seconds in (
        ("uncached, hung line pending", fresh),
        ("cached, stale-while-revalidate", stale),
        ("waiting for every check (before)", old_way),
    ):
        print(f"  {label:<42} {seconds * 1000:8.1f} ms  {seconds / baseline:5.1f}x")


def main() -> None:
    with Simulator() as sim:
        asyncio.run(measure(sim))


if __name__ == "__main__":
    main()
