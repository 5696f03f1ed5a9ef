"""The management API, ``/api/manage/...``: admin-only (the access rules' ``ADMIN_PATHS``),
each request audited like every state change.

Resources: ``integrations`` (list; ``PATCH`` one to enable or disable it; ``POST`` its
``checks`` to check it now), ``config`` (``POST config/reload``: read the file again, answer
the diff) and ``maintenance`` (windows that silence alert delivery: list, add, delete).
Silences and acknowledgements of single alerts live with the alerts, under ``/api/alerts``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import model_validator

from atom_health.config import ConfigError
from atom_health.config.alerting import MaintenanceWindow
from atom_health.management import AlertingOffError, Management, NoConfigFileError
from atom_health.model.manage import (
    ConfigDiff,
    EnabledChange,
    ManagedIntegration,
    ManagedIntegrations,
    ManagedWindow,
    ManagedWindows,
    ManageRefusal,
)
from atom_health.model.results import ServiceHealth
from atom_health.monitor import UnknownIntegrationError
from atom_health.web.answers import json_response
from atom_health.web.manage_examples import (
    EXAMPLES,
    INVALID_CONFIG,
    REFUSALS,
    examples_of,
    refusal_doc,
)

MANAGE_TAG = "management"
RELOAD_PATH = "/api/manage/config/reload"

ServiceName = Annotated[
    str, Path(min_length=1, max_length=100, description="Integration id or alias, e.g. zoom")
]
WindowId = Annotated[str, Path(min_length=1, max_length=100, description="e.g. runtime-1")]


def management_of(request: Request) -> Management:
    management: Management = request.app.state.system.management
    return management


def refusal(status: int, error: str, message: str) -> JSONResponse:
    body = ManageRefusal(error=error, message=message)
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"))


def unknown(name: str) -> JSONResponse:
    return refusal(404, "not_found", f"Unknown integration: {name}")


async def list_integrations(request: Request) -> ManagedIntegrations:
    """Every integration, disabled ones included, and who decided (config file or API)."""
    return management_of(request).integrations()


async def change_integration(
    request: Request,
    service: ServiceName,
    change: Annotated[EnabledChange, Body(openapi_examples=examples_of("enabled_change"))],
) -> ManagedIntegration | JSONResponse:
    """Enable or disable an integration now. A disabled one leaves the overview, the
    dashboard, the scheduler and lookups (its routes answer 404); the switch is kept in the
    store across restarts and reloads."""
    try:
        return await management_of(request).set_enabled(service, change.enabled)
    except UnknownIntegrationError:
        return unknown(service)


async def check_now(request: Request, service: ServiceName) -> Response:
    """Check an integration now, bypassing the cache, within the refresh window: inside
    the window since its last live check the newest result is answered, with its
    ``age_seconds`` (no provider is called more often, whoever asks)."""
    management = management_of(request)
    try:
        integration = management.find(service)
    except UnknownIntegrationError:
        return unknown(service)
    if not integration.enabled:
        return refusal(409, "disabled", f"{integration.name} is disabled: enable it first")
    result = await management.monitor.check(integration.id, refresh=True)
    return json_response(result)


async def reload_config(request: Request) -> ConfigDiff | JSONResponse:
    """Read the config file again and apply it; answers what changed. A file that cannot
    be read or is not valid is refused (422) and the running config is kept. Also on
    SIGHUP to ``atom-health serve`` or ``system``."""
    try:
        return await management_of(request).reload()
    except NoConfigFileError as exc:
        return refusal(409, "no_config_file", str(exc))
    except ConfigError as exc:
        return refusal(422, "invalid_config", f"{exc}; the running config is kept")


async def list_windows(request: Request) -> ManagedWindows:
    """Maintenance windows, from the config file and added here, and whether each is
    active now."""
    return management_of(request).windows()


class NewWindow(MaintenanceWindow):
    """A maintenance window to add: one-off or recurring, never neither."""

    @model_validator(mode="after")
    def _has_a_time(self) -> NewWindow:
        one_off = self.start is not None and self.end is not None
        weekly = bool(self.weekdays) and self.start_time is not None and self.end_time is not None
        if not (one_off or weekly):
            raise ValueError("give start and end, or weekdays with start_time and end_time")
        return self


async def add_window(
    request: Request,
    window: Annotated[NewWindow, Body(openapi_examples=examples_of("window"))],
) -> ManagedWindow | JSONResponse:
    """Add a maintenance window (one-off ``start``/``end`` or recurring ``weekdays`` with
    ``start_time``/``end_time``, in its ``timezone``, UTC by default): it silences alert
    delivery while active. Kept in the store until deleted: it survives restarts and applies
    on every replica sharing the database."""
    try:
        return await management_of(request).add_window(window)
    except AlertingOffError as exc:
        return refusal(409, "alerting_off", str(exc))


async def delete_window(request: Request, window_id: WindowId) -> Response:
    """Delete a window added at run time (those of the config file stay until reloaded)."""
    if not await management_of(request).remove_window(window_id):
        return refusal(404, "not_found", f"No maintenance window added at run time: {window_id}")
    return Response(status_code=204)


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Each refusal a route can answer, with its example (401, 403 and 429 for every one)."""
    documented: dict[int | str, dict[str, Any]] = {
        code: refusal_doc(REFUSALS[code]) for code in (401, 403, 429, *codes)
    }
    return documented


def add_manage_routes(router: APIRouter | FastAPI) -> None:
    def add(path: str, endpoint: Any, methods: list[str], model: Any, *codes: int) -> None:
        status = 204 if model is None else 200
        extra: dict[int | str, dict[str, Any]] = (
            {422: refusal_doc(INVALID_CONFIG)} if endpoint is reload_config else {}
        )
        router.add_api_route(
            path,
            endpoint,
            methods=methods,
            response_model=model,
            responses={status: EXAMPLES[endpoint.__name__], **_responses(*codes), **extra},
            tags=[MANAGE_TAG],
            status_code=status,
            response_class=Response if model is None else JSONResponse,
        )

    integration = "/api/manage/integrations/{service}"
    add("/api/manage/integrations", list_integrations, ["GET"], ManagedIntegrations)
    add(integration, change_integration, ["PATCH"], ManagedIntegration, 404, 413, 422)
    add(f"{integration}/checks", check_now, ["POST"], ServiceHealth, 404, 409, 422)
    add(RELOAD_PATH, reload_config, ["POST"], ConfigDiff, 409)
    add("/api/manage/maintenance", list_windows, ["GET"], ManagedWindows)
    add("/api/manage/maintenance", add_window, ["POST"], ManagedWindow, 409, 413, 422)
    add("/api/manage/maintenance/{window_id}", delete_window, ["DELETE"], None, 404, 422)
