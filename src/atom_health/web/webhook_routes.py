"""``POST /webhooks/{service}``: atom-health as the receiver of a provider's deliveries (or a
host app forwarding them, headers and raw body unchanged). Outside ``/api``: a provider
cannot send our API key; the signature is the authentication.

200 when the signature verifies, 401 when it does not (the provider should retry; Xero
requires exactly this), 503 when no signing secret is configured, 404 for an unknown
integration, 422 for one without a webhook scheme. The delivery's body is not kept.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from atom_health.model.results import UnknownService
from atom_health.web.routes import ServiceName, monitor_of, unknown_service

WEBHOOKS_TAG = "webhooks"


async def receive_webhook(request: Request, service: ServiceName) -> JSONResponse:
    """Verify and record one delivery."""
    try:
        verdict = monitor_of(request).webhooks.verify(
            service, request.method, str(request.url), request.headers, await request.body()
        )
    except LookupError:
        return unknown_service(service)
    except ValueError as exc:
        return JSONResponse(
            {"ok": False, "service": service, "outcome": "no_scheme", "message": str(exc)}, 422
        )
    return JSONResponse(verdict.body(), verdict.status)


def add_webhook_routes(router: APIRouter | FastAPI) -> None:
    router.add_api_route(
        "/webhooks/{service}",
        receive_webhook,
        methods=["POST"],
        tags=[WEBHOOKS_TAG],
        responses={
            401: {"description": "The signature does not verify (the provider should retry)"},
            404: {"model": UnknownService, "description": "Not a known integration"},
            422: {"description": "The integration has no webhook signature scheme"},
            503: {"description": "No signing secret is configured: the provider should retry"},
        },
    )
