"""atom-health's own health, for load balancers and Kubernetes probes; no key needed.

``GET /healthz``: the process answers. ``GET /readyz``: the store answers, the scheduler
(when this process runs one) is alive and not late, and the engine is running; 503 and
the failing parts otherwise.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from atom_health._version import __version__
from atom_health.web.parts import SystemParts

SELF_TAG = "self health"
STORE_TIMEOUT_SECONDS = 2.0
SCHEDULER_LATE_SECONDS = 30.0


class Alive(BaseModel):
    ok: bool = True
    status: str = "alive"
    version: str = __version__


class Part(BaseModel):
    ok: bool
    message: str


class Readiness(BaseModel):
    ok: bool
    status: str = Field(description="ready or not_ready")
    checks: dict[str, Part] = Field(description="store, scheduler, engine (and fleet)")


async def healthz() -> Alive:
    """The process is up and answering."""
    return Alive()


async def readyz(request: Request) -> Readiness | JSONResponse:
    """Ready to serve: store reachable, scheduler alive and on time, engine running."""
    system: SystemParts = request.app.state.system
    checks = {
        "store": await _store(system),
        "scheduler": _scheduler(system),
        "engine": Part(ok=True, message="running")
        if getattr(request.app.state, "running", False)
        else Part(ok=False, message="not started, or stopping"),
    }
    if system.fleet is not None:  # without Redis a replica works alone: still ready
        state = system.fleet.state()
        checks["fleet"] = Part(
            ok=True,
            message=f"redis {state.redis}; "
            + ("cooperating" if state.cooperating else "working alone"),
        )
    ready = all(part.ok for part in checks.values())
    body = Readiness(ok=ready, status="ready" if ready else "not_ready", checks=checks)
    if ready:
        return body
    return JSONResponse(body.model_dump(mode="json"), status_code=503)


async def _store(system: SystemParts) -> Part:
    try:
        await asyncio.wait_for(
            run_in_threadpool(system.store.get_meta, "readiness"), STORE_TIMEOUT_SECONDS
        )
    except TimeoutError:
        return Part(ok=False, message=f"no answer within {STORE_TIMEOUT_SECONDS:g} s")
    except Exception as exc:  # the message could hold a database URL: name the type only
        return Part(ok=False, message=f"unreachable ({type(exc).__name__})")
    return Part(ok=True, message="reachable")


def _scheduler(system: SystemParts) -> Part:
    scheduler = system.scheduler
    if scheduler is None:
        return Part(ok=True, message="not run by this process")
    if not scheduler.running:
        return Part(ok=False, message="stopped")
    overdue = scheduler.overdue_seconds()
    if overdue > SCHEDULER_LATE_SECONDS:
        return Part(ok=False, message=f"late: a check is {overdue:.0f} s overdue")
    return Part(ok=True, message="running on time")


def add_self_health_routes(router: APIRouter | FastAPI) -> None:
    router.add_api_route("/healthz", healthz, response_model=Alive, tags=[SELF_TAG])
    router.add_api_route(
        "/readyz",
        readyz,
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready"}},
        tags=[SELF_TAG],
    )
