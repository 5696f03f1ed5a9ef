"""What anyone may see, with no key: the public status page and SVG badges.

Only integrations listed in ``status_page.integrations`` appear, and only their name,
status, uptime and their vendor's open incidents: never a message, a variable name or
any other internal detail. Others answer 404 exactly as an unknown integration does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from atom_health.catalog.model import Integration
from atom_health.classify import overall_status
from atom_health.model.results import DashboardService, ServiceHealth, UnknownService, utc_now
from atom_health.web.badges import STATUS_COLOURS, status_badge, uptime_badge
from atom_health.web.dashboard_data import dashboard_service
from atom_health.web.parts import SystemParts

PUBLIC_TAG = "public"
Window = Literal["24h", "7d", "30d"]
STATUS_PAGE_MAX_AGE = 30
STATUS_BADGE_MAX_AGE = 60
UPTIME_BADGE_MAX_AGE = 300
_SVG = "image/svg+xml"
_ENVIRONMENT = Environment(
    loader=PackageLoader("atom_health.web", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)
_SVG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {_SVG: {"example": "<svg ...>...</svg>"}}, "description": "An SVG badge"},
    404: {"model": UnknownService, "description": "Not an integration on the status page"},
}


def _system(request: Request) -> SystemParts:
    system: SystemParts = request.app.state.system
    return system


def public_integrations(system: SystemParts) -> list[Integration]:
    """The opted-in integrations, in catalog order."""
    chosen = set(system.settings.status_page.integrations)
    return [i for i in system.monitor.catalog if i.id in chosen]


def _public(system: SystemParts, name: str) -> Integration | None:
    found = system.monitor.catalog.get(name)
    return (
        found
        if found is not None and found.id in system.settings.status_page.integrations
        else None
    )


async def _rows(system: SystemParts, integrations: list[Integration]) -> list[DashboardService]:
    latest = system.monitor.latest_results()
    unchecked = [i.id for i in integrations if i.id not in latest]
    if unchecked:
        for result in await system.monitor.check_many(unchecked):
            latest[result.service] = result
    results: list[ServiceHealth] = [latest[i.id] for i in integrations]
    now = time.time()
    return [dashboard_service(system.recent, result, now) for result in results]


def _not_public(service: str) -> JSONResponse:
    body = UnknownService(service=service, message=f"Unknown integration: {service}")
    return JSONResponse(status_code=404, content=body.model_dump(mode="json"))


async def status_page(request: Request) -> HTMLResponse:
    """The public status page: each opted-in integration's status, its uptime over 30 days
    (a bar per day) and its vendor's open incidents. No key needed, no internal detail."""
    system = _system(request)
    rows = await _rows(system, public_integrations(system))
    html = _ENVIRONMENT.get_template("status.html.j2").render(
        title=system.settings.status_page.title,
        rows=rows,
        overall=overall_status(row.status for row in rows).value,
        colours={status.value: colour for status, colour in STATUS_COLOURS.items()},
        generated=utc_now(),
    )
    return HTMLResponse(html, headers={"Cache-Control": f"public, max-age={STATUS_PAGE_MAX_AGE}"})


ServiceName = Annotated[str, Path(min_length=1, max_length=100, description="Integration id")]


async def _badge(
    request: Request, service: str, draw: Callable[[DashboardService], str], max_age: int
) -> Response:
    """An opted-in integration's badge, drawn from its dashboard row; 404 for any other."""
    system = _system(request)
    integration = _public(system, service)
    if integration is None:
        return _not_public(service)
    (row,) = await _rows(system, [integration])
    return Response(
        draw(row), media_type=_SVG, headers={"Cache-Control": f"public, max-age={max_age}"}
    )


async def status_badge_svg(request: Request, service: ServiceName) -> Response:
    """An SVG badge with the integration's status (healthy, degraded, unhealthy)."""
    return await _badge(
        request, service, lambda row: status_badge(row.name, row.status), STATUS_BADGE_MAX_AGE
    )


async def uptime_badge_svg(request: Request, service: ServiceName, window: Window) -> Response:
    """An SVG badge with the integration's uptime over 24 h, 7 d or 30 d."""
    return await _badge(
        request, service, lambda row: uptime_badge(window, row.uptime[window]), UPTIME_BADGE_MAX_AGE
    )


def add_public_routes(router: APIRouter | FastAPI) -> None:
    router.add_api_route(
        "/status", status_page, response_class=HTMLResponse, tags=[PUBLIC_TAG],
        summary="Public status page",
    )  # fmt: skip
    router.add_api_route(
        "/badge/{service}.svg", status_badge_svg, tags=[PUBLIC_TAG], summary="Status badge",
        response_class=Response, responses=_SVG_RESPONSES,
    )  # fmt: skip
    router.add_api_route(
        "/badge/{service}/uptime/{window}.svg", uptime_badge_svg, tags=[PUBLIC_TAG],
        summary="Uptime badge", response_class=Response,
        responses=_SVG_RESPONSES,
    )  # fmt: skip
