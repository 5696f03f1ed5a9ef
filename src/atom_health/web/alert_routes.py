"""Alert routes: reading alerts, the outbox and silences; acknowledging and silencing.

Every route that changes something is on :func:`alert_admin_router` (``POST`` and
``DELETE`` under ``/api/alerts/...``), so access control can guard them with one dependency.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from atom_health.alerting.manager import AlertManager, AlertNotOpenError
from atom_health.model.alerts import AlertState, NotificationState, Silence
from atom_health.model.results import (
    AcknowledgeRequest,
    AlertItem,
    AlertsReport,
    NotificationsReport,
    SilenceItem,
    SilenceRequest,
    SilencesReport,
    utc_now,
)
from atom_health.web.alerts_data import (
    alert_item,
    alerts_report,
    notification_items,
    notifications_report,
    silence_item,
)
from atom_health.web.parts import SystemParts

ALERTS_TAG = "alerts"
AlertId = Annotated[int, Path(ge=1, le=2**62, description="The alert's id (from GET /api/alerts)")]
SilenceId = Annotated[int, Path(ge=1, le=2**62)]
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MAX_SILENCE_SECONDS = 366 * 86_400
_REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such alert, silence or integration (`message` says which)"},
    409: {"description": "Alerting is off (`alerting.enabled`)"},
}


def _system(request: Request) -> SystemParts:
    system: SystemParts = request.app.state.system
    return system


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"ok": False, "message": message})


async def list_alerts(
    request: Request,
    state: Annotated[AlertState | None, Query(description="open, resolved or acknowledged")] = None,
    open_only: Annotated[bool, Query(alias="open", description="Same as state=open")] = False,
    integration: Annotated[str | None, Query(description="Alerts naming this integration")] = None,
    since: Annotated[datetime | None, Query(description="Opened at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Opened before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AlertsReport | JSONResponse:
    """Alerts, newest first, each with its notifications and every delivery attempt; the
    maintenance windows and silences active now."""
    system = _system(request)
    name = None
    if integration is not None:
        known = system.monitor.catalog.get(integration)
        if known is None:
            return _problem(404, f"Unknown integration: {integration}")
        name = known.id
    start, end = as_epoch(since), as_epoch(until)
    if start is not None and end is not None and start >= end:
        return _problem(422, "since must be before until")
    chosen: AlertState | None = "open" if open_only and state is None else state
    return await run_in_threadpool(alerts_report, system, chosen, name, start, end, limit, offset)


def as_epoch(moment: datetime | None) -> float | None:
    """Seconds since the epoch; a time without an offset is UTC."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


async def one_alert(request: Request, alert_id: AlertId) -> AlertItem | JSONResponse:
    """One alert with its notifications and every delivery attempt."""
    store = _system(request).store

    def build() -> AlertItem | None:
        alert = store.alert(alert_id)
        if alert is None:
            return None
        found, _ = store.notifications(alert_ids=[alert_id])
        return alert_item(alert, notification_items(store, found))

    item = await run_in_threadpool(build)
    return item if item is not None else _problem(404, f"No alert {alert_id}")


async def list_notifications(
    request: Request,
    state: Annotated[
        NotificationState | None, Query(description="pending, delivered, dropped or silenced")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> NotificationsReport:
    """The outbox, oldest first: each notification, its state and its delivery attempts."""
    store = _system(request).store
    return await run_in_threadpool(notifications_report, store, state, limit, offset)


async def list_silences(
    request: Request,
    expired: Annotated[bool, Query(description="Include silences that have ended")] = False,
) -> SilencesReport:
    """Silences, newest first, with their expiry."""
    store = _system(request).store
    now = time.time()
    found = await run_in_threadpool(store.silences)
    items = [silence_item(s, now) for s in found if expired or s.ends_at > now]
    return SilencesReport(timestamp=utc_now(), silences=items)


def _manager(request: Request) -> AlertManager | JSONResponse:
    manager = _system(request).alerts
    return manager if manager is not None else _problem(409, "Alerting is off (alerting.enabled)")


async def acknowledge(
    request: Request, alert_id: AlertId, body: AcknowledgeRequest
) -> AlertItem | JSONResponse:
    """Acknowledge an open alert: no more reminders until it resolves."""
    manager = _manager(request)
    if isinstance(manager, JSONResponse):
        return manager
    try:
        alert = await manager.acknowledge(alert_id, body.author, body.comment)
    except AlertNotOpenError:
        store = _system(request).store
        known = await run_in_threadpool(store.alert, alert_id)
        if known is None:
            return _problem(404, f"No alert {alert_id}")
        return _problem(
            409, f"Alert {alert_id} is resolved; only an open alert can be acknowledged"
        )
    return alert_item(alert, [])


def duration_seconds(text: str) -> int | None:
    """``2h``, ``90m``, ``1h30m``, ``1d``, ``45s`` in seconds; None if it is not one."""
    match = _DURATION.match(text)
    if not text or match is None:
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


async def add_silence(request: Request, body: SilenceRequest) -> JSONResponse:
    """Silence alerts on these integrations until ``ends_at``, or for ``duration``."""
    manager = _manager(request)
    if isinstance(manager, JSONResponse):
        return manager
    catalog = _system(request).monitor.catalog
    unknown = [name for name in body.integrations if catalog.get(name) is None]
    if unknown:
        return _problem(422, f"Unknown integration: {', '.join(unknown)}")
    now = time.time()
    start = as_epoch(body.starts_at) or now
    if (body.duration is None) == (body.ends_at is None):
        return _problem(422, "give either duration (e.g. 2h, 1h30m) or ends_at")
    if body.duration is not None:
        seconds = duration_seconds(body.duration)
        if not seconds:
            return _problem(422, "duration must be positive, e.g. 2h, 90m or 1h30m")
        end = start + seconds
    else:
        end = as_epoch(body.ends_at) or now
    if end <= max(start, now):
        return _problem(422, "the silence must end in the future, after it starts")
    if end - start > MAX_SILENCE_SECONDS:
        return _problem(422, "a silence lasts at most 366 days")
    integrations = sorted({catalog.get(name).id for name in body.integrations})  # type: ignore[union-attr]
    silence = await manager.add_silence(
        Silence(integrations, start, end, body.created_by, body.comment, now)
    )
    item = silence_item(silence, time.time())
    return JSONResponse(status_code=201, content=item.model_dump(mode="json"))


async def expire_silence(request: Request, silence_id: SilenceId) -> SilenceItem | JSONResponse:
    """End a silence now (it stays listed with ``?expired=true``)."""
    manager = _manager(request)
    if isinstance(manager, JSONResponse):
        return manager
    silence = await manager.expire_silence(silence_id)
    if silence is None:
        return _problem(404, f"No silence {silence_id}")
    return silence_item(silence, time.time())


def alert_admin_router() -> APIRouter:
    """The routes that change alerting state, in one router (one dependency guards them)."""
    router = APIRouter(tags=[ALERTS_TAG])
    router.add_api_route("/api/alerts/silences", add_silence, methods=["POST"], status_code=201,
                         response_model=SilenceItem, responses=_REFUSED)  # fmt: skip
    router.add_api_route("/api/alerts/silences/{silence_id}", expire_silence,
                         methods=["DELETE"], response_model=SilenceItem,
                         responses=_REFUSED)  # fmt: skip
    router.add_api_route("/api/alerts/{alert_id}/acknowledge", acknowledge, methods=["POST"],
                         response_model=AlertItem, responses=_REFUSED)  # fmt: skip
    return router


def add_alert_routes(app: APIRouter | FastAPI) -> None:
    """The read routes (fixed paths before ``/api/alerts/{alert_id}``) and the admin router."""
    app.add_api_route("/api/alerts", list_alerts, response_model=AlertsReport, tags=[ALERTS_TAG],
                      responses=_REFUSED)  # fmt: skip
    app.add_api_route("/api/alerts/notifications", list_notifications,
                      response_model=NotificationsReport, tags=[ALERTS_TAG])  # fmt: skip
    app.add_api_route("/api/alerts/silences", list_silences, response_model=SilencesReport,
                      tags=[ALERTS_TAG])  # fmt: skip
    app.include_router(alert_admin_router())
    app.add_api_route("/api/alerts/{alert_id}", one_alert, response_model=AlertItem,
                      tags=[ALERTS_TAG], responses=_REFUSED)  # fmt: skip
