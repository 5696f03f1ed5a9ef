"""The health JSON API. Each body's model is defined once, in :mod:`atom_health.results`.

Compatibility aliases answer with exactly the data of the route they alias; they share
its handler and are listed under one OpenAPI tag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from atom_health.monitor import HealthMonitor, UnknownIntegrationError
from atom_health.results import (
    ConfigurationReport,
    Overview,
    ServiceHealth,
    UnknownService,
)

HEALTH_TAG = "health"
COMPAT_TAG = "compatibility aliases"

CheckApi = Annotated[
    bool,
    Query(description="Probe the provider live; false returns the configuration check only."),
]
Refresh = Annotated[bool, Query(description="Bypass the result cache and check the provider now.")]
ServiceName = Annotated[
    str, Path(min_length=1, max_length=100, description="Integration id or alias, e.g. zoom")
]
_UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"model": UnknownService, "description": "Not a known integration"}
}


def monitor_of(request: Request) -> HealthMonitor:
    monitor: HealthMonitor = request.app.state.monitor
    return monitor


async def overview(
    request: Request, check_api: CheckApi = True, refresh: Refresh = False
) -> Overview:
    """Every enabled integration: status, configured, message, missing variables."""
    return await monitor_of(request).overview(check_api=check_api, refresh=refresh)


async def configuration(request: Request) -> ConfigurationReport:
    """Configuration only, for every integration; never calls a provider."""
    return monitor_of(request).configuration_report()


async def service_health(
    request: Request, service: ServiceName, check_api: CheckApi = True, refresh: Refresh = False
) -> ServiceHealth | JSONResponse:
    """One integration: its configuration check, a live API check and the vendor's status."""
    try:
        return await monitor_of(request).check(service, check_api=check_api, refresh=refresh)
    except UnknownIntegrationError as exc:
        body = UnknownService(service=service, message=str(exc))
        return JSONResponse(status_code=404, content=body.model_dump(mode="json"))


def _alias(
    router: APIRouter,
    path: str,
    endpoint: Callable[..., Any],
    model: type[BaseModel],
    responses: dict[int | str, dict[str, Any]] | None = None,
) -> None:
    router.add_api_route(
        path, endpoint, response_model=model, responses=responses, tags=[COMPAT_TAG]
    )


def build_router() -> APIRouter:
    router = APIRouter()
    # Fixed paths first: /api/integrations/health must not be read as /api/{service}/health.
    router.add_api_route(
        "/api/integrations/health", overview, response_model=Overview, tags=[HEALTH_TAG]
    )
    router.add_api_route(
        "/api/integrations/config",
        configuration,
        response_model=ConfigurationReport,
        tags=[HEALTH_TAG],
    )
    router.add_api_route(
        "/api/{service}/health",
        service_health,
        response_model=ServiceHealth,
        responses=_UNKNOWN,
        tags=[HEALTH_TAG],
    )
    for path in (
        "/api/v2/health/health/all",
        "/api/v2/health/health/summary",
        "/api/enhanced/health/overview",
    ):
        _alias(router, path, overview, Overview)
    for path in (
        "/api/integrations/{service}/health",
        "/api/v2/health/health/{service}",
        "/api/enhanced/integrations/{service}/health",
    ):
        _alias(router, path, service_health, ServiceHealth, responses=_UNKNOWN)
    return router
