"""What each layer of the app's edge costs per request, in process (no sockets): the cached
overview, one integration's health and the configuration report through the whole app
(audit lines on, gathered as ``serve`` gathers them), then with each layer of the edge
(hardening, access control with rate limit and audit, answers) left out in turn; the
difference is that layer's cost.

A bare Starlette route called the same way is the floor.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.types import ASGIApp, Message

from atom_health.config import Settings
from atom_health.simulator import Simulator
from atom_health.system import HealthSystem
from atom_health.web.app import HealthApp
from bench.baseline_app import app as bare_app
from bench.common import EDGE_LAYERS, edge_without

PATHS = ("/api/integrations/health", "/api/stripe/health", "/api/integrations/config")
CALLS = 3000


def scope(path: str) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip


async def per_request_us(app: ASGIApp, path: str) -> float:
    """Best of five runs of ``CALLS`` requests, in microseconds per request."""
    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(CALLS):
            await app(scope(path), receive, send)
        best = min(best, (time.perf_counter() - started) / CALLS)
    if set(statuses) != {200}:
        raise RuntimeError(f"{path} answered {sorted(set(statuses))}")
    return best * 1e6


async def measure(environ: dict[str, str]) -> None:
    settings = Settings.model_validate(
        {"history": {"database_url": "memory://"}, "scheduler": {"enabled": False},
         "cache_ttl_seconds": 3600,
         # One client: the limiter counts each request but must not refuse them.
         "security": {"rate_limit": "1000000000/minute"}}
    )  # fmt: skip
    system = HealthSystem(settings, environ)
    app = system.web_app()
    assert isinstance(app, HealthApp)
    gathered: list[str] = []
    app.state.access.audit.write_lines_to(gathered.append)  # as serve gathers them
    await system.start()
    try:
        await system.monitor.overview(refresh=True)
        floor = await per_request_us(bare_app, "/config")
        print(f"In-process cost per request (best of 5 x {CALLS:,}); bare Starlette route "
              f"{floor:.1f} µs")  # fmt: skip
        whole_stack = app.middleware_stack = app.build_middleware_stack()
        for path in PATHS:
            app.middleware_stack = whole_stack
            whole = await per_request_us(app, path)
            print(f"\n  {path}: whole app {whole:.1f} µs ({whole / floor:.2f}x the bare route)")
            for layer in EDGE_LAYERS:
                app.middleware_stack = edge_without(whole_stack, layer)
                rest = await per_request_us(app, path)
                cost = whole - rest
                effect = f"costs {cost:7.1f} µs" if cost >= 0 else f"saves {-cost:7.1f} µs"
                print(f"    {layer.__name__:32s} {effect}")
            gathered.clear()
        app.middleware_stack = whole_stack
    finally:
        await system.stop()


def main() -> None:
    with Simulator() as simulator:
        environ = simulator.environment()
        asyncio.run(measure(environ))


if __name__ == "__main__":
    main()
