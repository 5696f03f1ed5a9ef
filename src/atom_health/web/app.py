"""The FastAPI application: the health API, with JSON errors for every failure."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from atom_health._version import __version__
from atom_health.web import openapi
from atom_health.web.access import Access, AccessMiddleware, document_access
from atom_health.web.answer_middleware import AnswerMiddleware
from atom_health.web.answers import Answers
from atom_health.web.api_docs import add_api_docs
from atom_health.web.audit import add_audit_routes
from atom_health.web.bridge import BRIDGE_TAG, add_bridge_routes
from atom_health.web.hardening import HardeningMiddleware
from atom_health.web.hubspot_routes import HUBSPOT_TAG, add_hubspot_routes
from atom_health.web.manage import MANAGE_TAG, add_manage_routes
from atom_health.web.parts import SystemParts
from atom_health.web.public import PUBLIC_TAG, add_public_routes
from atom_health.web.routes import COMPAT_TAG, HEALTH_TAG, HISTORY_TAG, LIVE_TAG, add_routes
from atom_health.web.self_health import add_self_health_routes
from atom_health.web.sessions import add_session_routes
from atom_health.web.webhook_routes import WEBHOOKS_TAG, add_webhook_routes

DASHBOARD = Path(__file__).parent / "dashboard"

log = logging.getLogger(__name__)

_TAGS = [
    {"name": HEALTH_TAG, "description": "Health and configuration of integrations."},
    {"name": HISTORY_TAG, "description": "Stored results, uptime, incidents, metrics."},
    {"name": LIVE_TAG, "description": "The dashboard's data and its live event stream."},
    {"name": HUBSPOT_TAG, "description": "HubSpot CRM records through atom-health's client."},
    {"name": WEBHOOKS_TAG, "description": "Provider webhook deliveries, verified and recorded."},
    {
        "name": BRIDGE_TAG,
        "description": "Route discovery across the frameworks served by this process, and "
        "the bridge's health from real checks (a mounted Flask app, back-end services).",
    },
    {
        "name": MANAGE_TAG,
        "description": "Admin only: enable or disable integrations, check now, reload the "
        "config file, maintenance windows. Silences and acknowledgements of single alerts "
        "are under /api/alerts.",
    },
    {
        "name": PUBLIC_TAG,
        "description": "The public status page and badges: no key, opted-in integrations only.",
    },
    {
        "name": COMPAT_TAG,
        "description": "Older paths used by existing Atom front ends; each answers with "
        "exactly the data of the route it aliases.",
    },
]


class HealthApp(FastAPI):
    """FastAPI with an edge in front of its own middleware: every HTTP request first passes
    the hardened edges, then access control (auth, rate limit, audit), then the known
    answers, sent from their bytes. Only what is left reaches FastAPI's error handling
    and router, so a known answer costs only what it must.

    Middleware a host adds with ``add_middleware`` wraps the edge, as it would wrap any
    FastAPI app, and so sees every request. Errors inside the edge reach the server,
    which answers 500.
    """

    edge: Callable[[ASGIApp], ASGIApp]  # the edge around FastAPI's own stack

    def __init__(self, **options: Any) -> None:
        # FastAPI's own OpenTelemetry hooks look up three global providers on every request
        # (a third of a cached answer's cost), and their spans would hold each request's
        # path and query, which ours never hold (tests/test_tracing.py).
        super().__init__(telemetry={"tracing": False, "metrics": False, "logs": False}, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.root_path:
            await super().__call__(scope, receive, send)  # lifespan, websockets: FastAPI's
            return
        # What FastAPI and Starlette do for a request, its telemetry being off.
        scope["app"] = self
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        await self.middleware_stack(scope, receive, send)

    def build_middleware_stack(self) -> ASGIApp:
        added, self.user_middleware = self.user_middleware, []
        try:
            stack = self.edge(super().build_middleware_stack())
        finally:
            self.user_middleware = added
        for cls, args, kwargs in reversed(added):
            stack = cls(stack, *args, **kwargs)
        return stack


def create_app(system: SystemParts) -> FastAPI:
    """The app serving a system's parts; it starts and stops them with its lifespan."""

    access = Access.build(
        system.settings.security,
        system.environ,
        system.store,
        system.monitor.fingerprint_key,  # the installation key: replicas share it
        system.redis_url,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await system.start()
        app.state.running = True
        try:
            yield
        finally:
            app.state.running = False
            await access.audit.flush()
            await system.stop()

    app = HealthApp(
        lifespan=lifespan,
        title="atom-health",
        version=__version__,
        description="Can each third-party integration work right now, and if not, why?",
        openapi_tags=_TAGS,
        docs_url=None,
        redoc_url=None,
    )
    app.state.system = system
    app.state.answers = answers = Answers(system, app.router.routes)
    add_bridge_routes(app)  # before /api/{service}/health, which would shadow /api/bridge/health
    app.state.access = access
    app.state.running = False
    add_routes(app)
    add_hubspot_routes(app)
    add_webhook_routes(app)
    add_public_routes(app)
    add_self_health_routes(app)
    add_session_routes(app)
    add_audit_routes(app)
    add_manage_routes(app)
    add_api_docs(app)
    document_access(app)

    def edge(framework: ASGIApp) -> ASGIApp:
        """Hardened edges, then access control, then the answers kept as bytes."""
        answered = AnswerMiddleware(framework, answers)
        return HardeningMiddleware(AccessMiddleware(answered, access), system.settings.security)

    app.edge = edge
    openapi.install(app)
    app.mount("/assets", StaticFiles(directory=DASHBOARD), name="assets")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(DASHBOARD / "index.html", headers={"Cache-Control": "no-cache"})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's 422 without ``input``: a rejected value is never echoed (it may be a key,
        # pasted into the wrong field, or a secret in a body). Where and why stay.
        errors = [{k: v for k, v in e.items() if k not in ("input", "url")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Log the type only: exception text can quote request data or provider bodies.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return JSONResponse(
            status_code=500,
            content={"ok": False, "error": "internal_error", "message": "Internal server error"},
        )

    return app
