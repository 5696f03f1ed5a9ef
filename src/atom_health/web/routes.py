"""The health JSON API. Each body's model is defined once, in :mod:`atom_health.model.results`.

Compatibility aliases answer with exactly the data of the route they alias; they share
its handler and are listed under one OpenAPI tag.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from atom_health.history import queries
from atom_health.history.recent import with_recent_history
from atom_health.model import routes as paths
from atom_health.model.results import (
    ConfigEventsReport,
    ConfigurationReport,
    Dashboard,
    HistoryPage,
    IncidentsReport,
    LiveEvent,
    Overview,
    ServiceHealth,
    Status,
    UnknownService,
    UptimeReport,
    utc_now,
)
from atom_health.monitor import HealthMonitor, UnknownIntegrationError, summarise
from atom_health.web.alert_routes import add_alert_routes
from atom_health.web.answers import Answers, json_response
from atom_health.web.parts import SystemParts

HEALTH_TAG = "health"
HISTORY_TAG = "history"
LIVE_TAG = "dashboard"
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


Since = Annotated[
    datetime | None, Query(description="ISO 8601 start (UTC when no offset is given)")
]
Until = Annotated[datetime | None, Query(description="ISO 8601 end; default now")]


def system_of(request: Request) -> SystemParts:
    system: SystemParts = request.app.state.system
    return system


def answers_of(request: Request) -> Answers:
    answers: Answers = request.app.state.answers
    return answers


def monitor_of(request: Request) -> HealthMonitor:
    return system_of(request).monitor


def unknown_service(service: str) -> JSONResponse:
    body = UnknownService(service=service, message=f"Unknown integration: {service}")
    return JSONResponse(status_code=404, content=body.model_dump(mode="json"))


def bad_query(field: str, message: str) -> JSONResponse:
    """A 422 in FastAPI's own validation-error shape."""
    detail = [{"type": "value_error", "loc": ["query", field], "msg": message}]
    return JSONResponse(status_code=422, content={"detail": detail})


def as_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


async def overview(
    request: Request, check_api: CheckApi = True, refresh: Refresh = False
) -> Overview | Response:
    """Every enabled integration: status, message, missing variables, 24 h uptime."""
    system = system_of(request)
    results = await system.monitor.check_many_within(check_api=check_api, refresh=refresh)
    return json_response(
        with_recent_history(
            summarise(results, bridge_system_used=system.monitor.bridge_system_used), system.recent
        )
    )


async def configuration(request: Request) -> ConfigurationReport | Response:
    """Configuration only, for every integration; never calls a provider."""
    return answers_of(request).configuration().response(request.headers)


async def service_health(
    request: Request, service: ServiceName, check_api: CheckApi = True, refresh: Refresh = False
) -> ServiceHealth | Response:
    """One integration: its configuration check, a live API check and the vendor's status."""
    try:
        result = await monitor_of(request).check(service, check_api=check_api, refresh=refresh)
        return json_response(result)
    except UnknownIntegrationError:
        return unknown_service(service)


async def history(
    request: Request,
    service: ServiceName,
    since: Since = None,
    until: Until = None,
    status: Annotated[Status | None, Query(description="Only results with this status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HistoryPage | JSONResponse:
    """Stored check results, newest first (default: the last 24 h)."""
    system = system_of(request)
    integration = system.monitor.catalog.get(service)
    if integration is None:
        return unknown_service(service)
    end = as_utc(until) or utc_now()
    start = as_utc(since) or end - timedelta(hours=24)
    if start >= end:
        return bad_query("since", "since must be before until")
    return await run_in_threadpool(
        queries.history_page, system.store, integration.id, start, end, status, limit, offset
    )


async def config_events(
    request: Request,
    service: ServiceName,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ConfigEventsReport | JSONResponse:
    """Configuration changes, newest first (default: the last 30 days): a variable went
    missing, appeared, or holds a new credential. Names only, never values."""
    system = system_of(request)
    integration = system.monitor.catalog.get(service)
    if integration is None:
        return unknown_service(service)
    end = as_utc(until) or utc_now()
    start = as_utc(since) or end - timedelta(days=30)
    if start >= end:
        return bad_query("since", "since must be before until")
    return await run_in_threadpool(
        queries.config_events_report, system.store, integration.id, start, end, limit
    )


async def uptime(
    request: Request, service: ServiceName, since: Since = None, until: Until = None
) -> UptimeReport | JSONResponse:
    """Uptime, latency percentiles, incidents, MTTR and MTBF over 1 h, 24 h, 7 d, 30 d and
    90 d, or over one ``since``/``until`` window."""
    system = system_of(request)
    integration = system.monitor.catalog.get(service)
    if integration is None:
        return unknown_service(service)
    start, end = as_utc(since), as_utc(until)
    if until is not None and since is None:
        return bad_query("since", "give since with until")
    if start is not None and start >= (end or utc_now()):
        return bad_query("since", "since must be before until")
    return await run_in_threadpool(queries.uptime_report, system.store, integration.id, start, end)


async def incidents(
    request: Request,
    since: Since = None,
    service: Annotated[str | None, Query(description="Only this integration")] = None,
    open_only: Annotated[bool, Query(alias="open", description="Only open incidents")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> IncidentsReport | JSONResponse:
    """Open incidents and those of the window (default: the last 7 days), with MTTR/MTBF."""
    system = system_of(request)
    name = None
    if service is not None:
        integration = system.monitor.catalog.get(service)
        if integration is None:
            return unknown_service(service)
        name = integration.id
    start = as_utc(since) or utc_now() - timedelta(days=7)
    return await run_in_threadpool(
        queries.incidents_report, system.store, start, name, open_only, limit
    )


async def dashboard(request: Request) -> Dashboard | Response:
    """Everything the dashboard's main view shows: rows, uptime bars, latency sparklines.

    Uses each integration's last result; only integrations never checked are checked now,
    within the batch deadline (a hung one shows as pending until its result arrives live).
    """
    system = system_of(request)
    latest = system.monitor.latest_results()
    unchecked = [i.id for i in system.monitor.catalog if i.id not in latest]
    if unchecked:
        for result in await system.monitor.check_many_within(unchecked):
            latest[result.service] = result
    results = [latest[i.id] for i in system.monitor.catalog]
    return answers_of(request).dashboard_of(results).response(request.headers)


async def events(request: Request) -> StreamingResponse:
    """Server-sent events: ``event: result`` with a :class:`LiveEvent` for each fresh result."""
    return StreamingResponse(
        system_of(request).live.stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    system = system_of(request)
    lag = system.scheduler.lag_seconds if system.scheduler is not None else None
    if system.fleet is not None:
        state = system.fleet.state()
        system.metrics.show_fleet(state.cooperating, state.scheduler_lease)
    body = system.metrics.render(system.monitor.live_prober, lag)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)


def _alias(
    router: APIRouter | FastAPI,
    path: str,
    endpoint: Callable[..., Any],
    model: type[BaseModel],
    responses: dict[int | str, dict[str, Any]] | None = None,
) -> None:
    router.add_api_route(
        path, endpoint, response_model=model, responses=responses, tags=[COMPAT_TAG]
    )


def add_routes(router: APIRouter | FastAPI) -> None:
    """Register every route on an app or router (directly, so ``app.routes`` lists them)."""
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
        "/api/integrations/{service}/history",
        history,
        response_model=HistoryPage,
        responses=_UNKNOWN,
        tags=[HISTORY_TAG],
    )
    router.add_api_route(
        "/api/integrations/{service}/events",
        config_events,
        response_model=ConfigEventsReport,
        responses=_UNKNOWN,
        tags=[HISTORY_TAG],
    )
    router.add_api_route(
        "/api/integrations/{service}/uptime",
        uptime,
        response_model=UptimeReport,
        responses=_UNKNOWN,
        tags=[HISTORY_TAG],
    )
    router.add_api_route(
        "/api/incidents", incidents, response_model=IncidentsReport, tags=[HISTORY_TAG]
    )
    router.add_api_route("/metrics", metrics, tags=[HISTORY_TAG], include_in_schema=True)
    add_alert_routes(router)
    router.add_api_route("/api/dashboard", dashboard, response_model=Dashboard, tags=[LIVE_TAG])
    router.add_api_route(
        "/api/events",
        events,
        tags=[LIVE_TAG],
        response_class=StreamingResponse,
        responses={
            200: {
                "model": LiveEvent,
                "description": "A text/event-stream: each `event: result` message's data is a "
                "LiveEvent (this schema).",
            }
        },
    )
    router.add_api_route(
        "/api/{service}/health",
        service_health,
        response_model=ServiceHealth,
        responses=_UNKNOWN,
        tags=[HEALTH_TAG],
    )
    for path in paths.OVERVIEW_ALIASES:
        _alias(router, path, overview, Overview)
    for path in paths.SERVICE_HEALTH_ALIASES:
        _alias(router, path, service_health, ServiceHealth, responses=_UNKNOWN)
