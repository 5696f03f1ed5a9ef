"""Health gates: what a gate adds to a request when the result is cached, measured in-process
on the gate's own decision and over loopback against a route without a gate."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
from fastapi import Depends, FastAPI

from atom_health.config import ProbeSettings, Settings
from atom_health.monitor import HealthMonitor
from atom_health.serving import ThreadedServer
from atom_health.simulator import Simulator
from atom_health.web.gates import gate_detail, require_healthy

ROUNDS = 20_000


async def decision_cost(monitor: HealthMonitor) -> float:
    async with monitor:
        await gate_detail(monitor, "stripe", False)  # fills the cache
        started = time.perf_counter()
        for _ in range(ROUNDS):
            await gate_detail(monitor, "stripe", False)
        return (time.perf_counter() - started) / ROUNDS


def main() -> None:
    with Simulator() as simulator:
        settings = Settings(cache_ttl_seconds=3600, probes=ProbeSettings(vendor_status=False))
        monitor = HealthMonitor.from_settings(settings, simulator.environment())
        per_decision = asyncio.run(decision_cost(monitor))
        print("Health gate, cached result")
        print(
            f"  gate decision in-process        {per_decision * 1e6:7.2f} µs   (target well under 100 µs)"
        )

        app = FastAPI()
        gated_monitor = HealthMonitor.from_settings(settings, simulator.environment())

        @app.get("/plain")
        async def plain() -> dict[str, bool]:
            return {"ok": True}

        @app.get("/gated", dependencies=[Depends(require_healthy("stripe", monitor=gated_monitor))])
        async def gated() -> dict[str, bool]:
            return {"ok": True}

        with ThreadedServer(app) as server, httpx.Client(base_url=server.url) as client:
            medians = {}
            for path in ("/plain", "/gated") * 2:  # warm both, then measure both
                samples = []
                for _ in range(1500):
                    started = time.perf_counter()
                    client.get(path).raise_for_status()
                    samples.append(time.perf_counter() - started)
                medians[path] = statistics.median(samples) * 1e6
        print(f"  GET /plain over loopback        {medians['/plain']:7.1f} µs (median)")
        print(
            f"  GET /gated over loopback        {medians['/gated']:7.1f} µs (median, +{medians['/gated'] - medians['/plain']:.1f} µs)"
        )


if __name__ == "__main__":
    main()
