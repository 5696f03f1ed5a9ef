"""Health gates: let a route run only when an integration can work right now.

FastAPI: ``Depends(require_healthy("zoom"))``. Flask: ``@requires_integration("zoom")``
(in :mod:`atom_health.frameworks.flask`). Both answer 503 with the same JSON body, naming the
integration, its status and the reason, and a ``Retry-After`` header. Gates read the
monitor's result cache, so a cache hit costs microseconds.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException, Request

from atom_health.model.results import ServiceHealth, Status
from atom_health.monitor import HealthMonitor, UnknownIntegrationError


def verdict(
    result: ServiceHealth, allow_degraded: bool, retry_default: float
) -> dict[str, Any] | None:
    """None when the gate opens; otherwise the 503 ``detail`` body (with ``retry_after``)."""
    if result.status is Status.healthy or (allow_degraded and result.status is Status.degraded):
        return None
    breaker = result.checks.api_access.breaker
    wait = breaker.retry_in_seconds if breaker and breaker.retry_in_seconds else retry_default
    return {
        "ok": False,
        "service": result.service,
        "status": result.status.value,
        "message": result.message,
        "category": result.checks.api_access.category,
        "retry_after": max(1, math.ceil(wait)),
    }


def unknown(service: str) -> dict[str, Any]:
    return {
        "ok": False,
        "service": service,
        "status": "unknown",
        "message": f"Unknown integration: {service}",
        "retry_after": None,
    }


async def gate_detail(
    monitor: HealthMonitor, service: str, allow_degraded: bool
) -> dict[str, Any] | None:
    """The one decision both frameworks use."""
    try:
        result = await monitor.check(service)
    except UnknownIntegrationError:
        return unknown(service)
    return verdict(result, allow_degraded, monitor.settings.cache_ttl_seconds)


def require_healthy(
    service: str, *, allow_degraded: bool = False, monitor: HealthMonitor | None = None
) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency; the monitor is the given one or ``app.state.system.monitor``."""

    async def dependency(request: Request) -> None:
        chosen = monitor or request.app.state.system.monitor
        detail = await gate_detail(chosen, service, allow_degraded)
        if detail is not None:
            headers = {"Retry-After": str(detail["retry_after"])} if detail["retry_after"] else None
            raise HTTPException(status_code=503, detail=detail, headers=headers)

    return dependency
