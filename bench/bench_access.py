"""Access control's cost per request: API-key check + rate limiting + audit line, against the
same route served without them, in one run (target: under 10 % on the cached overview).

Each app runs in its own process (``--serve plain|guarded PORT``) so the client does not
share a GIL with it; the two are measured alternately. The middleware's own cost is also
measured in-process, around a route that does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import tempfile
import time
from typing import Any

import httpx
import uvicorn

from atom_health.config import ProbeSettings, SchedulerSettings, Settings
from atom_health.config.security import SecuritySettings
from atom_health.simulator import Simulator
from atom_health.store import MemoryStore
from atom_health.system import HealthSystem
from atom_health.web.access import Access, AccessMiddleware
from atom_health.web.audit import AUDIT_LOGGER
from bench.common import edge_without, serving

PATH = "/api/integrations/health"  # the cached overview
KEY = "bench-Key-0123456789abcdefGHIJ"
REQUESTS = 1500
ROUNDS = 5
GUARDED = SecuritySettings(rate_limit="1000000000/minute", audit_log=True)  # checked, never hit
PLAIN = SecuritySettings(rate_limit="", audit_log=False)


def audit_to_a_file() -> None:
    audit = logging.getLogger(AUDIT_LOGGER)
    audit.addHandler(logging.FileHandler(tempfile.mktemp(suffix=".audit.log")))
    audit.setLevel(logging.INFO)
    audit.propagate = False


def serve(mode: str, port: int) -> None:
    """One app: ``guarded`` (key, rate limit, audit) or ``plain`` (without the middleware)."""
    import os

    guarded = mode == "guarded"
    settings = Settings(
        cache_ttl_seconds=3600,
        probes=ProbeSettings(vendor_status=False),
        scheduler=SchedulerSettings(enabled=False),
        security=GUARDED if guarded else PLAIN,
    )
    app = HealthSystem(settings, os.environ, store=MemoryStore(), scheduler=False).web_app()
    if guarded:
        audit_to_a_file()
    else:
        app.middleware_stack = edge_without(app.build_middleware_stack(), AccessMiddleware)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def interleaved_medians_us(clients: list[httpx.Client], headers: dict[str, str]) -> list[float]:
    """One request to each server in turn, REQUESTS times: load on a shared machine falls on
    both alike. The median per server, in µs."""
    samples: list[list[float]] = [[] for _ in clients]
    for _ in range(REQUESTS):
        for client, times in zip(clients, samples, strict=True):
            started = time.perf_counter()
            client.get(PATH, headers=headers).raise_for_status()
            times.append(time.perf_counter() - started)
    return [statistics.median(times) * 1e6 for times in samples]


async def middleware_cost_us(calls: int = 20_000) -> tuple[float, float]:
    """Per call: a do-nothing ASGI route alone, and behind the access middleware."""
    audit_to_a_file()
    access = Access.build(GUARDED, {"ATOM_HEALTH_READ_KEY": KEY}, MemoryStore(), b"bench-key")

    async def route(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    def scope() -> dict[str, Any]:
        headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {KEY}".encode()),
                   (b"accept", b"*/*"), (b"user-agent", b"bench")]  # fmt: skip
        return {"type": "http", "method": "GET", "path": PATH, "query_string": b"",
                "headers": headers, "client": ("127.0.0.1", 50000)}  # fmt: skip

    guarded = AccessMiddleware(route, access)
    timings = []
    for app in (route, guarded):
        started = time.perf_counter()
        for _ in range(calls):
            await app(scope(), receive, send)
        timings.append((time.perf_counter() - started) / calls * 1e6)
    return timings[0], timings[1]


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
        return
    command = [sys.executable, "-m", "bench.bench_access", "--serve"]
    with Simulator() as simulator:
        env = simulator.environment()
        with (
            serving([*command, "plain", "{port}"], "/healthz", env) as plain_url,
            serving([*command, "guarded", "{port}"], "/healthz",
                    {**env, "ATOM_HEALTH_READ_KEY": KEY}) as guarded_url,
            serving([*command, "plain", "{port}"], "/healthz", env) as twin_url,
        ):  # fmt: skip
            auth = {"Authorization": f"Bearer {KEY}"}  # all get it: the same client work
            urls = (plain_url, guarded_url, twin_url)  # the twin shows the noise floor
            clients = [httpx.Client(base_url=url, timeout=30) for url in urls]
            for client in clients:  # the first checks; then the cache serves
                for _ in range(200):
                    client.get(PATH, headers=auth).raise_for_status()
            rounds = [interleaved_medians_us(clients, auth) for _ in range(ROUNDS)]
            for client in clients:
                client.close()
    ratios = sorted(r[1] / r[0] for r in rounds)
    twins = sorted(r[2] / r[0] for r in rounds)
    base, guarded, twin = (min(r[i] for r in rounds) for i in range(3))
    alone, behind = asyncio.run(middleware_cost_us())
    print(f"Access control on GET {PATH} (cached); {ROUNDS} rounds of {REQUESTS} interleaved")
    print(f"  over loopback, without key check, rate limit, audit  {base:8.1f} µs   1.00")
    print(
        f"  over loopback, with all three                        {guarded:8.1f} µs   "
        f"{ratios[len(ratios) // 2]:.2f}   (median ratio of the rounds; target < 1.10)"
    )
    print(
        f"  over loopback, a second plain server (noise floor)   {twin:8.1f} µs   "
        f"{twins[len(twins) // 2]:.2f}"
    )
    print(
        f"  in-process, the middleware alone                     {behind - alone:8.1f} µs   "
        f"{(behind - alone) / base:.3f} of the plain request"
    )


if __name__ == "__main__":
    main()
