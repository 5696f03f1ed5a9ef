"""HubSpot CRM through atom-health: ``/api/hubspot/{contacts|companies|deals}``, one record,
and search. Answers carry HubSpot's own shapes; a failed provider call answers with the
category and message the health check gives for the same failure (502/503/504, 429 never
passed through as is), a missing record with 404, a refused request with 422. Never a 500.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse

from atom_health.checks.probe import failure_message
from atom_health.model.results import Category, ProviderError
from atom_health.services.http import CallFailed
from atom_health.services.hubspot import (
    ACCESS_TOKEN,
    CrmObject,
    CrmPage,
    HubSpotClient,
    ObjectType,
    SearchPage,
    SearchRequest,
)
from atom_health.web.routes import system_of, unknown_service

HUBSPOT_TAG = "hubspot"
SERVICE = "hubspot"

# What our caller gets when HubSpot could not answer for it: the provider's fault is 502,
# "not now" is 503 (with Retry-After), no answer in time is 504.
_HTTP_STATUS = {
    Category.not_configured: 503,
    Category.credentials_rejected: 502,
    Category.permission_denied: 502,
    Category.rate_limited: 503,
    Category.timeout: 504,
    Category.dns: 502,
    Category.tls: 502,
    Category.connect: 502,
    Category.server_error: 502,
    Category.bad_response: 502,
    Category.vendor_outage: 502,
}
# HubSpot's answers that say our caller's request was wrong, not that HubSpot failed.
_REQUEST_ERRORS = {404: (404, "not_found"), 409: (409, "conflict"), 400: (422, "invalid_request")}

Kind = Annotated[ObjectType, Path(description="contacts, companies or deals")]
RecordId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@+\-]+$")]
After = Annotated[
    str | None,
    Query(max_length=200, pattern=r"^[A-Za-z0-9_=%.\-]+$", description="Cursor from paging.next"),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Records per page (HubSpot's maximum: 100)")]
Properties = Annotated[
    str | None,
    Query(max_length=2000, pattern=r"^[A-Za-z0-9_,]+$", description="Comma-separated properties"),
]
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ProviderError} for code in (404, 409, 422, 502, 503, 504)
}


def _client(request: Request) -> HubSpotClient | JSONResponse:
    monitor = system_of(request).monitor
    integration = monitor.catalog.get(SERVICE)
    if integration is None:
        return unknown_service(SERVICE)
    client = monitor.live_prober.service(integration)
    assert isinstance(client, HubSpotClient), "hubspot is served by HubSpotClient"
    return client


def _error(client: HubSpotClient, operation: str, failure: CallFailed) -> JSONResponse:
    known = _REQUEST_ERRORS.get(failure.http_status or 0) if failure.request_error else None
    retry = failure.retry_after
    if known is not None:
        status, error = known
        code = f" ({failure.code})" if failure.code else ""
        body = ProviderError(
            service=SERVICE,
            error=error,
            message=f"{client.integration.name} refused {operation}: HTTP {failure.http_status}{code}",
            code=failure.code,
            http_status=failure.http_status,
        )
    else:
        status = _HTTP_STATUS[failure.category]
        body = ProviderError(
            service=SERVICE,
            error=failure.category.value,
            category=failure.category,
            message=failure_message(
                client.integration, operation, failure, [client.integration.env_name(ACCESS_TOKEN)]
            ),
            code=failure.code,
            http_status=failure.http_status,
            retry_after_seconds=retry,
        )
    headers = {"Retry-After": str(math.ceil(retry))} if retry and status == 503 else None
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _properties(raw: str | None) -> list[str]:
    return [p for p in (raw or "").split(",") if p]


async def list_records(
    request: Request,
    object_type: Kind,
    after: After = None,
    limit: Limit = 10,
    properties: Properties = None,
) -> CrmPage | JSONResponse:
    """One page of records; follow ``paging.next.after`` for the next one."""
    client = _client(request)
    if isinstance(client, JSONResponse):
        return client
    try:
        return await client.page(object_type, after, limit, _properties(properties))
    except CallFailed as failure:
        return _error(client, f"GET /crm/v3/objects/{object_type}", failure)


async def get_record(
    request: Request, object_type: Kind, record_id: RecordId, properties: Properties = None
) -> CrmObject | JSONResponse:
    """One record by id."""
    client = _client(request)
    if isinstance(client, JSONResponse):
        return client
    try:
        return await client.get(object_type, record_id, _properties(properties))
    except CallFailed as failure:
        return _error(client, f"GET /crm/v3/objects/{object_type}/{{objectId}}", failure)


async def search_records(
    request: Request, object_type: Kind, search: Annotated[SearchRequest, Body()]
) -> SearchPage | JSONResponse:
    """HubSpot's search: ``filterGroups`` (ORed groups of ANDed filters), one sort, ``query``,
    ``properties``, ``limit`` (up to 200) and ``after``."""
    client = _client(request)
    if isinstance(client, JSONResponse):
        return client
    try:
        return await client.search(object_type, search)
    except CallFailed as failure:
        return _error(client, f"POST /crm/v3/objects/{object_type}/search", failure)


def add_hubspot_routes(router: APIRouter | FastAPI) -> None:
    """Register after the health routes, so ``/api/hubspot/health`` stays the health answer."""
    router.add_api_route(
        "/api/hubspot/{object_type}",
        list_records,
        response_model=CrmPage,
        responses=_ERRORS,
        tags=[HUBSPOT_TAG],
        response_model_exclude_none=True,
    )
    router.add_api_route(
        "/api/hubspot/{object_type}/search",
        search_records,
        methods=["POST"],
        response_model=SearchPage,
        responses=_ERRORS,
        tags=[HUBSPOT_TAG],
        response_model_exclude_none=True,
    )
    router.add_api_route(
        "/api/hubspot/{object_type}/{record_id}",
        get_record,
        response_model=CrmObject,
        responses=_ERRORS,
        tags=[HUBSPOT_TAG],
        response_model_exclude_none=True,
    )
