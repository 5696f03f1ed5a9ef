"""One process, both frameworks: atom-health's FastAPI app with an existing Flask app
mounted inside it (through a2wsgi), route discovery across both, and the bridge's own
health from real checks of each app and of every configured back-end service.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Literal

import httpx
from a2wsgi import WSGIMiddleware
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from flask import Flask
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from atom_health.catalog import Catalog
from atom_health.model.results import Status, utc_now
from atom_health.system import HealthSystem

BRIDGE_TAG = "bridge"


class DiscoveredRoute(BaseModel):
    method: str
    path: str
    framework: Literal["fastapi", "flask"]
    integration: str | None


class Discovery(BaseModel):
    """``GET /api/enhanced/management/discover``."""

    ok: bool = True
    timestamp: datetime
    total: int
    frameworks: dict[str, int]
    routes: list[DiscoveredRoute]


class Component(BaseModel):
    status: Status
    framework: str
    message: str
    latency_ms: float | None = None


class BridgeStatus(BaseModel):
    """``GET /api/bridge/status``: each framework's app and each back-end service."""

    ok: bool = True
    timestamp: datetime
    status: Status
    health_percentage: float
    framework_distribution: dict[str, int]
    frameworks: dict[str, Component]
    services: dict[str, Component]


class BridgeHealth(BaseModel):
    """``GET /api/bridge/health``: the bridge's verdict alone."""

    ok: bool = True
    timestamp: datetime
    status: Status
    health_percentage: float


def integration_of(path: str, catalog: Catalog) -> str | None:
    """The catalog integration a route belongs to, from its literal path segments."""
    for segment in path.strip("/").split("/"):
        if segment and not segment.startswith(("{", "<")):
            found = catalog.get(segment)
            if found is not None:
                return found.id
    return None


def _is_about_integrations(path: str, integration: str | None) -> bool:
    generic = ("{service}", "<service>", "{name}", "<name>", "/integrations", "/bridge", "/health")
    return integration is not None or any(marker in path for marker in generic)


def discover(fastapi_app: FastAPI, flask_app: Flask, catalog: Catalog) -> Discovery:
    routes = [
        DiscoveredRoute(
            method=method,
            path=route.path,
            framework="fastapi",
            integration=integration_of(route.path, catalog),
        )
        for route in fastapi_app.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods or ())
    ]
    for rule in flask_app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append(
                DiscoveredRoute(
                    method=method,
                    path=rule.rule,
                    framework="flask",
                    integration=integration_of(rule.rule, catalog),
                )
            )
    related = [r for r in routes if _is_about_integrations(r.path, r.integration)]
    counts = {"fastapi": 0, "flask": 0}
    for route in related:
        counts[route.framework] += 1
    return Discovery(timestamp=utc_now(), total=len(related), frameworks=counts, routes=related)


async def _check_fastapi(app: FastAPI) -> Component:
    started = time.perf_counter()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
        answer = await client.get("/api/integrations/config")
    latency = round((time.perf_counter() - started) * 1000, 2)
    ok = answer.status_code == 200
    return Component(
        status=Status.healthy if ok else Status.unhealthy,
        framework="fastapi",
        message=f"GET /api/integrations/config answered {answer.status_code}",
        latency_ms=latency,
    )


def _check_flask(app: Flask) -> Component:
    """Ask the Flask app a real request: its first parameterless GET route, health routes first."""
    candidates = sorted(
        (
            r.rule
            for r in app.url_map.iter_rules()
            if "GET" in (r.methods or set()) and not r.arguments
        ),
        key=lambda rule: ("health" not in rule, len(rule)),
    )
    if not candidates:
        return Component(status=Status.unknown, framework="flask", message="no GET route to check")
    started = time.perf_counter()
    answer = app.test_client().get(candidates[0])
    latency = round((time.perf_counter() - started) * 1000, 2)
    ok = answer.status_code < 500
    return Component(
        status=Status.healthy if ok else Status.unhealthy,
        framework="flask",
        message=f"GET {candidates[0]} answered {answer.status_code}",
        latency_ms=latency,
    )


async def bridge_status(app: FastAPI, flask_app: Flask, system: HealthSystem) -> BridgeStatus:
    frameworks = {
        "fastapi": await _check_fastapi(app),
        "flask": await run_in_threadpool(_check_flask, flask_app),
    }
    backends = [i for i in system.monitor.catalog if i.kind == "backend"]
    results = await system.monitor.check_many([b.id for b in backends])
    services = {
        r.service: Component(
            status=r.status,
            framework=b.framework or "other",
            message=r.message,
            latency_ms=r.checks.api_access.latency_ms,
        )
        for r, b in zip(results, backends, strict=True)
    }
    components = [*frameworks.values(), *services.values()]
    healthy = sum(1 for c in components if c.status is Status.healthy)
    percentage = round(100 * healthy / len(components), 1)
    status = (
        Status.healthy
        if healthy == len(components)
        else Status.unhealthy
        if healthy == 0
        else Status.degraded
    )
    distribution: dict[str, int] = {}
    for component in components:
        distribution[component.framework] = distribution.get(component.framework, 0) + 1
    return BridgeStatus(
        timestamp=utc_now(),
        status=status,
        health_percentage=percentage,
        framework_distribution=distribution,
        frameworks=frameworks,
        services=services,
    )


def create_bridge(system: HealthSystem, flask_app: Flask) -> FastAPI:
    """atom-health's app serving ``flask_app`` too: any path FastAPI does not route goes to Flask."""
    app = system.web_app()

    @app.get("/api/enhanced/management/discover", response_model=Discovery, tags=[BRIDGE_TAG])
    async def discovery(request: Request) -> Discovery:
        """Integration-related routes of both apps: method, path, framework, integration."""
        return discover(app, flask_app, system.monitor.catalog)

    @app.get("/api/bridge/status", response_model=BridgeStatus, tags=[BRIDGE_TAG])
    async def status(request: Request) -> BridgeStatus:
        """Each framework's app and each back-end service, from real checks."""
        return await bridge_status(app, flask_app, system)

    @app.get("/api/bridge/health", response_model=BridgeHealth, tags=[BRIDGE_TAG])
    async def health(request: Request) -> BridgeHealth:
        full = await bridge_status(app, flask_app, system)
        return BridgeHealth(
            timestamp=full.timestamp, status=full.status, health_percentage=full.health_percentage
        )

    # The bridge's paths must win over /api/{service}/health, registered earlier.
    bridge_routes = app.router.routes[-3:]
    del app.router.routes[-3:]
    app.router.routes[0:0] = bridge_routes
    app.mount("/", WSGIMiddleware(flask_app))  # type: ignore[arg-type]
    return app
