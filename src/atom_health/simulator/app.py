"""The provider simulator: an ASGI app that plays every built-in provider on one port.

Layout: ``/<provider><base path>/...`` for each provider's API and token endpoint,
``/<provider>/status/...`` for its status feed, and ``/_admin/...`` to switch faults
at run time (see :mod:`atom_health.simulator.faults`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from atom_health.simulator import signals
from atom_health.simulator.faults import Fault, ProviderCounters, ProviderState, StatusPage
from atom_health.simulator.hubspot_crm import CrmStore, SimLimits
from atom_health.simulator.providers import PROVIDERS, Accounts, Handler, SimProvider

HANG_LIMIT_SECONDS = 120.0
_API_ONLY = frozenset(
    {Fault.reject, Fault.forbidden, Fault.missing_scope, Fault.wrong_token_type, Fault.empty}
)
# Faults that change a successful answer rather than replace it.
_DECORATING = frozenset({Fault.quota_low, Fault.quota_spent, Fault.expiring})
SIMULATED_RESET = "simulated connection reset"


class _QuietSimulatedReset(logging.Filter):
    """uvicorn logs the reset fault's deliberate exception as an error; it is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, ConnectionResetError) and str(error) == SIMULATED_RESET)


_RESET_FILTER = _QuietSimulatedReset()


class Simulation:
    """The mutable world: faults, counters, issued tokens, added latency, and how many
    provider requests are in flight at once (``peak_in_flight``: the most since the reset)."""

    def __init__(self) -> None:
        self.accounts = Accounts()
        self.states: dict[str, ProviderState] = {p: ProviderState() for p in PROVIDERS}
        self.counters: dict[str, ProviderCounters] = {p: ProviderCounters() for p in PROVIDERS}
        self.latency_ms = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.crm = CrmStore()
        # Our webhook endpoint as the providers' APIs report it (PUT /_admin/webhooks/{id}).
        self.webhook_states: dict[str, str] = {}
        self._routes = {p.id: _compile(p) for p in PROVIDERS.values()}

    def reset(self, provider: str | None = None) -> None:
        """One provider's faults, counters and tokens; with no provider, the whole world."""
        for pid in [provider] if provider else list(PROVIDERS):
            self.states[pid] = ProviderState()
            self.counters[pid] = ProviderCounters()
            self.accounts.revoke(pid)
        if provider is None:
            self.latency_ms = 0
            self.peak_in_flight = self.in_flight
        if provider in (None, "hubspot"):
            self.crm.reset()
        if provider is None:
            self.webhook_states.clear()
        else:
            self.webhook_states.pop(provider, None)

    def snapshot(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "peak_in_flight": self.peak_in_flight,
            "providers": {
                pid: {**self.states[pid].model_dump(mode="json"), **self.counters[pid].model_dump()}
                for pid in PROVIDERS
            },
        }

    def route(
        self, provider: SimProvider, method: str, path: str
    ) -> tuple[Handler | None, dict[str, str]]:
        for pattern, route_method, handler in self._routes[provider.id]:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return handler, match.groupdict()
        return None, {}

    def take_fault(self, provider: str, token_endpoint: bool) -> ProviderState | None:
        """The fault to apply to this request, counting down ``times``.

        Refusals (reject, forbidden) come from the API, as a provider refuses a token or a
        scope there; transport-like faults hit the token endpoint too.
        """
        state = self.states[provider]
        if state.fault is None or (token_endpoint and state.fault in _API_ONLY):
            return None
        if state.times is not None:
            remaining = state.times - 1
            self.states[provider] = state.model_copy(
                update={"times": remaining} if remaining else {"fault": None, "times": None}
            )
        return state


def _compile(provider: SimProvider) -> list[tuple[re.Pattern[str], str, Handler]]:
    routes = []
    for (method, path), handler in provider.api.items():
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", provider.base_path + path)
        routes.append((re.compile(regex), method, handler))
    if provider.token_path and provider.token:
        routes.append(
            (
                re.compile(re.escape(provider.base_path + provider.token_path)),
                "POST",
                provider.token,
            )
        )
    return routes


async def provider_endpoint(request: Request) -> Response:
    sim: Simulation = request.app.state.sim
    provider = PROVIDERS.get(request.path_params["provider"])
    if provider is None:
        return JSONResponse({"message": "Not Found"}, 404)
    path = "/" + request.path_params["path"]
    if path.startswith("/status/") or path == "/status":
        sim.counters[provider.id].status_requests += 1
        return status_feed(provider, sim.states[provider.id].status_page, path)
    handler, params = sim.route(provider, request.method, path)
    if handler is None:
        return JSONResponse({"message": f"{provider.name} has no {request.method} {path}"}, 404)
    is_token = handler is provider.token
    counters = sim.counters[provider.id]
    if is_token:
        counters.token_requests += 1
    else:
        counters.api_requests += 1
    sim.in_flight += 1
    sim.peak_in_flight = max(sim.peak_in_flight, sim.in_flight)
    try:
        if sim.latency_ms:
            await asyncio.sleep(sim.latency_ms / 1000)
        state = sim.take_fault(provider.id, is_token)
        if state is not None:
            faulted = await apply_fault(request, provider, state)
            if faulted is not None:
                return faulted
        request.scope["path_params"] = {**request.path_params, **params}
        response = await handler(request, sim.accounts)
    finally:
        sim.in_flight -= 1
    return decorate(provider, response, state, is_token)


def decorate(
    provider: SimProvider, response: Response, state: ProviderState | None, is_token: bool
) -> Response:
    """A successful answer with the provider's quota report, and the fault's signals."""
    fault = state.fault if state is not None and state.fault in _DECORATING else None
    if not is_token:
        limit = signals.QUOTA_LIMITS.get(provider.id, 0)
        left = {Fault.quota_spent: 0, Fault.quota_low: max(1, limit // 20)}
        remaining = left.get(fault) if fault is not None else None
        response = signals.quota_answer(provider.id, response, remaining)
        response = signals.with_granted_scopes(provider.id, response)
    if fault is Fault.expiring and state is not None:
        response = signals.expiring(provider.id, response, state.expires_in_days, is_token)
    return response


async def apply_fault(
    request: Request, provider: SimProvider, state: ProviderState
) -> Response | None:
    """The faulty answer, or None when the fault only delays the real one."""
    match state.fault:
        case Fault.reject:
            return (
                provider.refused()
                if provider.refused
                else JSONResponse({"error": "unauthorized"}, 401)
            )
        case Fault.forbidden:
            return JSONResponse({"error": "forbidden", "message": "insufficient permissions"}, 403)
        case Fault.rate_limit:
            limited = (
                provider.rate_limited(state.retry_after)
                if provider.rate_limited
                else JSONResponse(
                    {"error": "rate_limited"}, 429, headers={"Retry-After": str(state.retry_after)}
                )
            )
            return signals.wait_in_form(
                limited, provider.id, state.retry_after_form, state.retry_after
            )
        case Fault.missing_scope if provider.id in signals.MISSING_SCOPE:
            return signals.MISSING_SCOPE[provider.id]()
        case Fault.wrong_token_type if provider.id in signals.WRONG_TOKEN_TYPE:
            return signals.WRONG_TOKEN_TYPE[provider.id]()
        case Fault.empty if provider.id in signals.EMPTY:
            return signals.EMPTY[provider.id]()
        case Fault.server_error:
            return Response(
                "<html><body>503 Service Unavailable</body></html>", 503, media_type="text/html"
            )
        case Fault.slow:
            await asyncio.sleep(state.delay_ms / 1000)
            return None
        case Fault.hang:
            # Answer nothing until the client hangs up (bounded, so the server can stop).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(HANG_LIMIT_SECONDS):
                    while (await request.receive())["type"] != "http.disconnect":
                        pass
            return Response(status_code=504)
        case Fault.malformed:
            return Response(b'{"ok": tru', 200, media_type="application/json")
        case Fault.reset:
            return ResetResponse()
    return None


class ResetResponse(Response):
    """Promises a body, sends part of it, then fails: the server closes the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": 200,
             "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]}
        )  # fmt: skip
        await send({"type": "http.response.body", "body": b'{"partial": ', "more_body": True})
        raise ConnectionResetError(SIMULATED_RESET)


def status_feed(provider: SimProvider, page: StatusPage, path: str) -> Response:
    if page is StatusPage.broken:
        return Response("<html>502 Bad Gateway</html>", 502, media_type="text/html")
    trouble = page is StatusPage.incident
    title = f"Elevated error rates on the {provider.name} API"
    now = "2026-11-22T00:00:00.000Z"
    if provider.status_format == "statuspage" and path == "/status/api/v2/summary.json":
        return JSONResponse(
            {"page": {"id": "sim", "name": provider.name, "url": "https://status.example", "updated_at": now},
             "status": {"indicator": "major" if trouble else "none",
                        "description": "Partial System Outage" if trouble else "All Systems Operational"},
             "components": [{"id": "c1", "name": "API", "status": "major_outage" if trouble else "operational",
                             "group": False},
                            {"id": "c2", "name": "Webhooks", "status": "operational", "group": False}],
             "incidents": [{"id": "i1", "name": title, "status": "investigating", "impact": "major",
                            "created_at": now}] if trouble else [],
             "scheduled_maintenances": []}
        )  # fmt: skip
    if provider.status_format == "slack" and path == "/status/api/v2.0.0/current":
        incidents = [{"id": 1, "date_created": now, "date_updated": now, "title": title, "type": "outage",
                      "status": "active", "url": "https://slack-status.example/1", "services": ["Apps/Integrations/APIs"],
                      "notes": []}] if trouble else []  # fmt: skip
        return JSONResponse(
            {"status": "active" if trouble else "ok", "date_created": now, "date_updated": now,
             "active_incidents": incidents}
        )  # fmt: skip
    if provider.status_format == "stripe" and path == "/status/current/full":
        return JSONResponse(
            {"message": title if trouble else "All services are online.",
             "overallStatus": "down" if trouble else "up"}
        )  # fmt: skip
    if provider.status_format == "google" and path == "/status/incidents.json":
        incidents = [{"id": "g1", "begin": now, "end": None, "external_desc": title, "severity": "high",
                      "service_name": provider.name,
                      "affected_products": [{"title": provider.name, "id": "drive"}]}] if trouble else []  # fmt: skip
        return JSONResponse(incidents)
    return JSONResponse({"message": "Not Found"}, 404)


async def admin_state(request: Request) -> Response:
    return JSONResponse(request.app.state.sim.snapshot())


async def admin_provider(request: Request) -> Response:
    sim: Simulation = request.app.state.sim
    provider = request.path_params["provider"]
    if provider not in PROVIDERS:
        return JSONResponse(
            {"error": f"unknown provider {provider!r}", "known": list(PROVIDERS)}, 404
        )
    if request.method == "DELETE":
        sim.reset(provider)
    else:
        try:
            sim.states[provider] = ProviderState.model_validate(await request.json())
        except ValueError as exc:
            errors = exc.errors(include_url=False) if isinstance(exc, ValidationError) else str(exc)
            return JSONResponse({"error": "invalid fault", "detail": errors}, 422)
    return JSONResponse(sim.snapshot()["providers"][provider])


async def admin_revoke(request: Request) -> Response:
    """Forget every access token a provider issued, as if they all expired."""
    request.app.state.sim.accounts.revoke(request.path_params["provider"])
    return Response(status_code=204)


async def admin_reset(request: Request) -> Response:
    request.app.state.sim.reset()
    return JSONResponse(request.app.state.sim.snapshot())


async def admin_latency(request: Request) -> Response:
    try:
        latency = int((await request.json())["latency_ms"])
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": 'expected {"latency_ms": <int>}'}, 422)
    if not 0 <= latency <= 600_000:
        return JSONResponse({"error": "latency_ms must be between 0 and 600000"}, 422)
    request.app.state.sim.latency_ms = latency
    return JSONResponse({"latency_ms": latency})


async def admin_hubspot_limits(request: Request) -> Response:
    """Set the simulated HubSpot account's limits: ``interval_max``, ``interval_ms``, ``daily``."""
    sim: Simulation = request.app.state.sim
    try:
        body = await request.json()
        limits = SimLimits(**{k: int(v) for k, v in body.items()})
    except (ValueError, TypeError, AttributeError):
        return JSONResponse(
            {"error": "expected {interval_max, interval_ms, daily} as integers"}, 422
        )
    if min(limits.interval_max, limits.interval_ms, limits.daily) < 1:
        return JSONResponse({"error": "limits must be positive"}, 422)
    sim.crm.limits = limits
    return JSONResponse(vars(limits))


WEBHOOK_STATES = {"stripe": {"enabled", "disabled", "none"}, "github": {"ok", "failing"}}


async def admin_webhook_state(request: Request) -> Response:
    """Set what a provider's API says about our webhook endpoint: Stripe ``enabled``,
    ``disabled`` or ``none`` (no endpoint); GitHub ``ok`` or ``failing`` deliveries."""
    provider = request.path_params["provider"]
    try:
        state = (await request.json())["state"]
    except (ValueError, KeyError, TypeError):
        state = None
    if state not in WEBHOOK_STATES.get(provider, set()):
        return JSONResponse({"error": "unknown provider or state", "states": {
            k: sorted(v) for k, v in WEBHOOK_STATES.items()}}, 422)  # fmt: skip
    request.app.state.sim.webhook_states[provider] = state
    return JSONResponse({"provider": provider, "state": state})


def create_simulator_app(simulation: Simulation | None = None) -> Starlette:
    app = Starlette(
        routes=[
            Route("/_admin/state", admin_state),
            Route("/_admin/reset", admin_reset, methods=["POST"]),
            Route("/_admin/latency", admin_latency, methods=["PUT"]),
            Route("/_admin/providers/{provider}", admin_provider, methods=["PUT", "DELETE"]),
            Route("/_admin/providers/{provider}/revoke-tokens", admin_revoke, methods=["POST"]),
            Route("/_admin/hubspot/limits", admin_hubspot_limits, methods=["PUT"]),
            Route("/_admin/webhooks/{provider}", admin_webhook_state, methods=["PUT"]),
            Route("/{provider}/{path:path}", provider_endpoint, methods=["GET", "POST", "PATCH"]),
        ]
    )
    app.state.sim = simulation or Simulation()
    uvicorn_errors = logging.getLogger("uvicorn.error")
    if _RESET_FILTER not in uvicorn_errors.filters:
        uvicorn_errors.addFilter(_RESET_FILTER)
    return app
