"""The bridge routes, served by every atom-health app: route discovery across the frameworks
in this process, and the bridge's health from real checks of each framework's app and of
every configured back-end service.

With no other framework mounted they report atom-health's own FastAPI app alone
(``bridge_system_used: false``); :mod:`atom_health.frameworks.bridge` mounts a Flask app and
registers it here as a :class:`MountedApp`.
"""

from __future__ import annotations

import time
from typing import Protocol

import httpx
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from atom_health.catalog import Catalog
from atom_health.classify import overall_status
from atom_health.model import routes as paths
from atom_health.model.bridge import (
    BridgeHealth,
    BridgeStatus,
    Component,
    DiscoveredRoute,
    Discovery,
    Framework,
)
from atom_health.model.results import Status, utc_now
from atom_health.web.parts import SystemParts

BRIDGE_TAG = "bridge"


class MountedApp(Protocol):
    """Another framework's app served by this process (see ``frameworks/bridge.py``)."""

    framework: Framework

    def routes(self) -> list[tuple[str, str]]:
        """Its routes as (method, path) pairs."""

    def check(self) -> Component:
        """Ask it one real request (blocking; run in a thread)."""


def mounted_apps(app: FastAPI) -> list[MountedApp]:
    """The apps mounted beside atom-health's own (a list on ``app.state``, empty by default)."""
    if not hasattr(app.state, "mounted_apps"):
        app.state.mounted_apps = []
    found: list[MountedApp] = app.state.mounted_apps
    return found


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


def discover(app: FastAPI, catalog: Catalog) -> Discovery:
    routes = [
        DiscoveredRoute(
            method=method,
            path=route.path,
            framework="fastapi",
            integration=integration_of(route.path, catalog),
        )
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods or ())
    ]
    for mounted in mounted_apps(app):
        for method, path in mounted.routes():
            routes.append(
                DiscoveredRoute(
                    method=method,
                    path=path,
                    framework=mounted.framework,
                    integration=integration_of(path, catalog),
                )
            )
    related = [r for r in routes if _is_about_integrations(r.path, r.integration)]
    counts = {"fastapi": 0, **{m.framework: 0 for m in mounted_apps(app)}}
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


async def bridge_status(app: FastAPI, system: SystemParts) -> BridgeStatus:
    frameworks = {"fastapi": await _check_fastapi(app)}
    for mounted in mounted_apps(app):
        frameworks[mounted.framework] = await run_in_threadpool(mounted.check)
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
    distribution: dict[str, int] = {}
    for component in components:
        distribution[component.framework] = distribution.get(component.framework, 0) + 1
    return BridgeStatus(
        timestamp=utc_now(),
        bridge_system_used=bool(mounted_apps(app)),
        status=overall_status(c.status for c in components),
        health_percentage=round(100 * healthy / len(components), 1),
        framework_distribution=distribution,
        frameworks=frameworks,
        services=services,
    )


def add_bridge_routes(app: FastAPI) -> None:
    """Register the bridge routes; call before the ``/api/{service}/health`` route they shadow."""

    @app.get(paths.DISCOVER, response_model=Discovery, tags=[BRIDGE_TAG])
    async def discovery(request: Request) -> Discovery:
        """Integration-related routes of every framework in this process: method, path,
        framework, integration."""
        return discover(request.app, request.app.state.system.monitor.catalog)

    @app.get(paths.BRIDGE_STATUS, response_model=BridgeStatus, tags=[BRIDGE_TAG])
    async def status(request: Request) -> BridgeStatus:
        """Each framework's app and each back-end service, from real checks."""
        return await bridge_status(request.app, request.app.state.system)

    @app.get(paths.BRIDGE_HEALTH, response_model=BridgeHealth, tags=[BRIDGE_TAG])
    async def health(request: Request) -> BridgeHealth:
        """The bridge's verdict alone."""
        full = await bridge_status(request.app, request.app.state.system)
        return BridgeHealth(
            timestamp=full.timestamp,
            bridge_system_used=full.bridge_system_used,
            status=full.status,
            health_percentage=full.health_percentage,
        )
