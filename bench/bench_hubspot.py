"""HubSpot client overhead: pages per second walking 10,000 contacts (100 pages of 100)
through the simulator, with :class:`HubSpotClient` (breaker, budget, retries, typed
records, metrics, a log record per call) against a bare aiohttp loop making the same calls
(same session settings, same headers, ``json.loads`` and the ``after`` cursor), in this run.

The simulator runs in its own process, with its interval limit raised so that neither side
is throttled. Runs alternate between the two sides; the best of each is compared. CPU
milliseconds per page (this process only) are printed too: on a loaded machine they say
more about the client's own cost than wall-clock rates do.
Target: the client within 10% of the bare loop.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import httpx

from atom_health.catalog import build_catalog
from atom_health.config import Settings
from atom_health.monitor import HealthMonitor
from atom_health.services.http import create_session
from atom_health.services.hubspot import HubSpotClient
from atom_health.simulator import environment
from bench.common import PYTHON, serving

RECORDS = 10_000
PAGE = 100
PAGES = RECORDS // PAGE
ROUNDS = 7
Rate = tuple[float, float]  # (pages/s, CPU ms per page)


async def bare_walk(base_url: str, token: str) -> int:
    """The same calls with nothing but aiohttp: returns the records seen."""
    session = create_session()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    seen = 0
    after: str | None = None
    try:
        while True:
            params = {"limit": str(PAGE), "archived": "false"}
            if after:
                params["after"] = after
            async with session.get(
                f"{base_url}/crm/v3/objects/contacts", headers=headers, params=params
            ) as response:
                body = json.loads(await response.read())
            seen += len(body["results"])
            paging = body.get("paging")
            after = paging["next"]["after"] if paging else None
            if after is None:
                return seen
    finally:
        await session.close()


async def client_walk(env: dict[str, str]) -> Rate:
    """Pages/s through the client (the engine that holds it is built before the clock starts,
    as the bare loop's session is; each side opens its connections inside the timing)."""
    settings = Settings()
    async with HealthMonitor(build_catalog(settings, env), settings=settings, environ=env) as m:
        integration = m.catalog.get("hubspot")
        assert integration is not None
        client = m.live_prober.service(integration)
        assert isinstance(client, HubSpotClient)
        started, cpu = time.perf_counter(), time.process_time()
        seen = sum([1 async for _ in client.iterate("contacts", limit=PAGE)])
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert seen == RECORDS, seen
    return PAGES / elapsed, cpu * 1000 / PAGES


async def bare_rate(base_url: str, token: str) -> Rate:
    started, cpu = time.perf_counter(), time.process_time()
    seen = await bare_walk(base_url, token)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert seen == RECORDS, seen
    return PAGES / elapsed, cpu * 1000 / PAGES


def main() -> None:
    sim_cmd = [PYTHON, "-m", "atom_health", "simulate", "--port", "{port}"]
    with serving(sim_cmd, "/_admin/state") as sim:
        httpx.put(
            f"{sim}/_admin/hubspot/limits",
            json={"interval_max": 1_000_000, "interval_ms": 10_000, "daily": 10_000_000},
        ).raise_for_status()
        env = environment(sim)
        base = env["ATOM_HEALTH_HUBSPOT_BASE_URL"]
        token = env["HUBSPOT_ACCESS_TOKEN"]
        asyncio.run(bare_rate(base, token))  # warm the simulator
        bare, ours = [], []
        for _ in range(ROUNDS):
            bare.append(asyncio.run(bare_rate(base, token)))
            ours.append(asyncio.run(client_walk(env)))
    print(f"Walking {RECORDS:,} HubSpot contacts, {PAGE} per page, simulator in its own process")
    print(f"  {'':24}{'best pages/s':>14}{'median pages/s':>16}{'CPU ms/page (min)':>19}")
    for label, runs in (("bare aiohttp loop", bare), ("HubSpotClient.iterate", ours)):
        rates, cpus = [r for r, _ in runs], [c for _, c in runs]
        print(f"  {label:24}{max(rates):14.1f}{statistics.median(rates):16.1f}{min(cpus):19.3f}")
    ratio = max(r for r, _ in ours) / max(r for r, _ in bare)
    print(f"  client / bare, best pages/s {ratio:10.2f}   target >= 0.90")


if __name__ == "__main__":
    main()
