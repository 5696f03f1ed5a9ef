"""A typed async client for HubSpot's CRM v3 objects (contacts, companies, deals) and owners,
built on :class:`IntegrationService` (breaker, retries, budget, metrics, one log line a call).

Shapes follow HubSpot's public API spec (``HubSpot/HubSpot-public-api-spec-collection``;
notes in ``/work/research/hubspot-webhooks-facts.md``): list pages carry
``paging.next.after`` (no ``paging`` on the last page), search answers carry ``total``,
errors carry ``category``, and 429 bodies carry ``policyName`` (``TEN_SECONDLY_ROLLING``,
``SECONDLY``, ``DAILY``) or ``category: RATE_LIMITS``.

Credentials: a private-app token (``HUBSPOT_ACCESS_TOKEN``), or OAuth: with
``HUBSPOT_CLIENT_ID``, ``HUBSPOT_CLIENT_SECRET`` and ``HUBSPOT_REFRESH_TOKEN`` set, the access
token is renewed at the token URL ahead of expiry and once on a 401; a second 401 is
``credentials_rejected``. Limits: the ``X-HubSpot-RateLimit-*`` headers of each answer are
kept (:attr:`HubSpotClient.quota`); when the interval's allowance is used up the next call
waits for the window; a 429 waits as the policy says (``DAILY`` is not retried).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from atom_health.catalog.model import Integration
from atom_health.model.results import AuthState, Category, ProviderQuota, utc_now
from atom_health.services.base import CallLimits, IntegrationService
from atom_health.services.http import CallFailed, Reply, error_code, safe_code, status_failure
from atom_health.services.oauth import OAuthRefresh, StaticToken, TokenSource
from atom_health.services.rate_limit import RequestBudget

ObjectType = Literal["contacts", "companies", "deals"]
OBJECT_TYPES: tuple[ObjectType, ...] = ("contacts", "companies", "deals")
ACCESS_TOKEN = "HUBSPOT_ACCESS_TOKEN"
CLIENT_ID = "HUBSPOT_CLIENT_ID"
CLIENT_SECRET = "HUBSPOT_CLIENT_SECRET"
REFRESH_TOKEN = "HUBSPOT_REFRESH_TOKEN"
MAX_PAGE = 100  # list pages (the official SDKs' get-all page size)
MAX_SEARCH_PAGE = 200  # search pages (the spec: "up to 200 objects")
# Seconds to wait after a 429 by policy when no Retry-After came (as the official Node SDK).
POLICY_WAIT = {"TEN_SECONDLY_ROLLING": 10.0, "SECONDLY": 1.0}
_OBJECT = "/crm/v3/objects/{objectType}"
_ONE = "/crm/v3/objects/{objectType}/{objectId}"

Model = TypeVar("Model", bound=BaseModel)


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class CrmObject(_Shape):
    """``SimplePublicObject``: property values are strings or null."""

    id: str
    properties: dict[str, str | None]
    createdAt: str
    updatedAt: str
    archived: bool = False


class NextPage(_Shape):
    after: str
    link: str | None = None


class Paging(_Shape):
    next: NextPage | None = None


class _Paged(_Shape):
    paging: Paging | None = None

    @property
    def next_after(self) -> str | None:
        """The cursor of the next page; None on the last page (which has no ``paging``)."""
        return self.paging.next.after if self.paging and self.paging.next else None


class CrmPage(_Paged):
    results: list[CrmObject]


class SearchPage(CrmPage):
    total: int


class BatchError(_Shape):
    status: str | None = None
    category: str | None = None
    message: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)


class BatchRead(_Shape):
    """200 ``COMPLETE``, or 207 with the ids that were not found in ``errors``."""

    status: str
    results: list[CrmObject]
    errors: list[BatchError] = Field(default_factory=list)
    numErrors: int = 0


class Team(_Shape):
    id: str
    name: str
    primary: bool


class Owner(_Shape):
    id: str
    type: Literal["PERSON", "QUEUE"]
    archived: bool = False
    createdAt: str
    updatedAt: str
    email: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    userId: int | None = None
    teams: list[Team] = Field(default_factory=list)


class OwnerPage(_Paged):
    results: list[Owner]


Operator = Literal[
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
    "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
]  # fmt: skip


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    propertyName: str = Field(min_length=1, max_length=200)
    operator: Operator
    value: str | None = None
    values: list[str] | None = None
    highValue: str | None = None


class FilterGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filters: list[Filter] = Field(min_length=1, max_length=10)


class Sort(BaseModel):
    model_config = ConfigDict(extra="forbid")

    propertyName: str = Field(min_length=1, max_length=200)
    direction: Literal["ASCENDING", "DESCENDING"] = "ASCENDING"


class SearchRequest(BaseModel):
    """``PublicObjectSearchRequest``: groups are ORed, filters within a group ANDed."""

    model_config = ConfigDict(extra="forbid")

    filterGroups: list[FilterGroup] = Field(default_factory=list, max_length=5)
    sorts: list[Sort] = Field(default_factory=list, max_length=1)
    properties: list[str] = Field(default_factory=list)
    query: str | None = Field(default=None, max_length=3000)
    limit: int = Field(default=10, ge=1, le=MAX_SEARCH_PAGE)
    after: str | None = None


class HubSpotClient(IntegrationService):
    """HubSpot's CRM through one integration's service (shared with its health probe)."""

    def __init__(
        self,
        integration: Integration,
        session: Callable[[], aiohttp.ClientSession],
        limits: CallLimits = CallLimits(),
        budget: RequestBudget | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        super().__init__(integration, session, limits, budget, environ)
        self._source: tuple[str, TokenSource] | None = None
        self._quota = ProviderQuota()
        self._window_ends: float | None = None  # when a used-up interval allowance refills

    # -- credentials --------------------------------------------------------------------

    def _value(self, canonical: str) -> str:
        return self.environ.get(self.integration.env_name(canonical), "").strip()

    def auth(self) -> TokenSource:
        """The token source for the current variables (rebuilt when any of them changes)."""
        values = [self._value(v) for v in (ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)]
        token_url = self.integration.resolved_token_url(self.environ)
        key = hashlib.sha256("\0".join([*values, token_url or ""]).encode()).hexdigest()
        if self._source is not None and self._source[0] == key:
            return self._source[1]
        access, client_id, client_secret, refresh = values
        names = [
            self.integration.env_name(v)
            for v in (ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
        ]
        source: TokenSource
        if client_id and client_secret and refresh and token_url:
            source = OAuthRefresh(token_url, client_id, client_secret, refresh, names, access)
        elif access:
            source = StaticToken(access, names[0])
        else:
            raise CallFailed(Category.not_configured, f"set {names[0]}")
        self._source = (key, source)
        return source

    def token_source(self, variable: str) -> TokenSource | None:
        if variable != ACCESS_TOKEN:
            return None
        try:
            return self.auth()
        except CallFailed:
            return None

    @property
    def quota(self) -> ProviderQuota:
        """What the last answers' ``X-HubSpot-RateLimit-*`` headers and 429s said."""
        return self._quota

    def quota_state(self) -> ProviderQuota | None:
        return self._quota if self._quota.observed_at is not None else None

    def auth_state(self) -> AuthState | None:
        source = self.token_source(ACCESS_TOKEN)
        return source.state() if source is not None else None

    # -- objects ------------------------------------------------------------------------

    async def get(
        self, object_type: ObjectType, object_id: str, properties: Sequence[str] = ()
    ) -> CrmObject:
        params = {"properties": ",".join(properties)} if properties else None
        reply = await self._crm(
            "GET", _ONE, object_type, object_id, params=params, operation=f"{object_type}.get"
        )
        return _parse(CrmObject, reply)

    async def page(
        self,
        object_type: ObjectType,
        after: str | None = None,
        limit: int = MAX_PAGE,
        properties: Sequence[str] = (),
    ) -> CrmPage:
        """One page of a list; ``next_after`` is the cursor of the next one (None at the end)."""
        params = {"limit": str(min(max(1, limit), MAX_PAGE)), "archived": "false"}
        if after:
            params["after"] = after
        if properties:
            params["properties"] = ",".join(properties)
        reply = await self._crm(
            "GET", _OBJECT, object_type, params=params, operation=f"{object_type}.list"
        )
        return _parse(CrmPage, reply)

    async def iterate(
        self, object_type: ObjectType, limit: int = MAX_PAGE, properties: Sequence[str] = ()
    ) -> AsyncIterator[CrmObject]:
        """Every record, page by page, following ``after`` until the last page."""
        after: str | None = None
        while True:
            page = await self.page(object_type, after, limit, properties)
            for record in page.results:
                yield record
            after = page.next_after
            if after is None:
                return

    async def batch_read(
        self, object_type: ObjectType, ids: Sequence[str], properties: Sequence[str] = ()
    ) -> BatchRead:
        """Up to 100 records by id; ids not found are listed in ``errors`` (HTTP 207)."""
        body = {
            "inputs": [{"id": i} for i in ids[:MAX_PAGE]],
            "properties": list(properties),
            "propertiesWithHistory": [],
        }
        reply = await self._crm(
            "POST",
            _OBJECT + "/batch/read",
            object_type,
            json=body,
            operation=f"{object_type}.batch_read",
        )
        return _parse(BatchRead, reply)

    async def search(self, object_type: ObjectType, request: SearchRequest) -> SearchPage:
        body = request.model_dump(exclude_none=True)
        reply = await self._crm(
            "POST", _OBJECT + "/search", object_type, json=body, operation=f"{object_type}.search"
        )
        return _parse(SearchPage, reply)

    async def create(self, object_type: ObjectType, properties: Mapping[str, str]) -> CrmObject:
        body = {"properties": dict(properties), "associations": []}
        reply = await self._crm(
            "POST", _OBJECT, object_type, json=body, operation=f"{object_type}.create"
        )
        return _parse(CrmObject, reply)

    async def update(
        self, object_type: ObjectType, object_id: str, properties: Mapping[str, str]
    ) -> CrmObject:
        body = {"properties": dict(properties)}
        reply = await self._crm(
            "PATCH", _ONE, object_type, object_id, json=body, operation=f"{object_type}.update"
        )
        return _parse(CrmObject, reply)

    # -- owners -------------------------------------------------------------------------

    async def owners_page(self, after: str | None = None, limit: int = MAX_PAGE) -> OwnerPage:
        params = {"limit": str(min(max(1, limit), MAX_PAGE))}
        if after:
            params["after"] = after
        reply = await self._crm("GET", "/crm/v3/owners", params=params, operation="owners.list")
        return _parse(OwnerPage, reply)

    async def owners(self) -> AsyncIterator[Owner]:
        after: str | None = None
        while True:
            page = await self.owners_page(after)
            for owner in page.results:
                yield owner
            after = page.next_after
            if after is None:
                return

    async def owner(self, owner_id: str) -> Owner:
        reply = await self._crm("GET", "/crm/v3/owners/{ownerId}", owner_id, operation="owners.get")
        return _parse(Owner, reply)

    # -- mechanics ----------------------------------------------------------------------

    async def _crm(
        self,
        method: str,
        template: str,
        *values: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        operation: str,
    ) -> Reply:
        base = self.integration.resolved_base_url(self.environ)
        if not base:
            raise CallFailed(Category.not_configured, "no base URL is configured")
        path = _fill(template, values)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.deadline
        await self._respect_window(deadline)
        return await self.request(
            method,
            base + path,
            headers={"Accept": "application/json"},
            params=params,
            json=json,
            interpret=self._interpret,
            deadline=deadline,
            operation=operation,
            path=template,
            auth=self.auth(),
        )

    async def _respect_window(self, deadline: float) -> None:
        """Wait for the interval allowance when the last answer said it was used up."""
        ends = self._window_ends
        if ends is None:
            return
        wait = ends - time.monotonic()
        if wait <= 0:
            self._window_ends = None
            return
        if asyncio.get_running_loop().time() + wait >= deadline:
            raise CallFailed(
                Category.rate_limited,
                f"HubSpot's interval limit is used up; next call allowed in {wait:.1f} s",
                retry_after=wait,
                code="TEN_SECONDLY_ROLLING",
            )
        await asyncio.sleep(wait)
        self._window_ends = None

    def _interpret(self, reply: Reply) -> CallFailed | None:
        self._observe(reply.headers)
        failure = status_failure(reply)
        if failure is None or failure.category is Category.credentials_rejected:
            return failure
        body = _body(reply)
        if reply.status == 429:
            return self._rate_limited(reply, failure, body)
        code = error_code(body)
        if reply.status in (400, 404, 409, 422):
            # The request was wrong (no such record, a bad property), not the provider.
            failure.code = code
            failure.detail = f"HTTP {reply.status}" + (f" ({code})" if code else "")
            failure.request_error = True
        return failure

    def _rate_limited(self, reply: Reply, failure: CallFailed, body: dict[str, Any]) -> CallFailed:
        policy = safe_code(body.get("policyName")) or error_code(body)
        self._quota = self._quota.model_copy(
            update={"last_policy": policy, "observed_at": utc_now()}
        )
        failure.code = policy
        failure.detail = f"HTTP 429 ({policy})" if policy else "HTTP 429"
        if policy == "DAILY":
            failure.detail = "HTTP 429 (DAILY): the daily limit is used up until midnight"
            failure.final = True
        elif failure.retry_after is None:
            interval = self._quota.interval_ms
            fallback = POLICY_WAIT.get(policy or "", 1.0)
            if policy == "TEN_SECONDLY_ROLLING" and interval:
                fallback = interval / 1000
            failure.retry_after = fallback
        return failure

    def _observe(self, headers: Mapping[str, str]) -> None:
        """Keep what ``X-HubSpot-RateLimit-*`` says (search answers carry none)."""
        numbers = {
            "interval_limit": _int(headers.get("X-HubSpot-RateLimit-Max")),
            "interval_remaining": _int(headers.get("X-HubSpot-RateLimit-Remaining")),
            "interval_ms": _int(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")),
            "daily_limit": _int(headers.get("X-HubSpot-RateLimit-Daily")),
            "daily_remaining": _int(headers.get("X-HubSpot-RateLimit-Daily-Remaining")),
        }
        seen = {k: v for k, v in numbers.items() if v is not None}
        if not seen:
            return
        self._quota = self._quota.model_copy(update={**seen, "observed_at": utc_now()})
        if seen.get("interval_remaining") == 0:
            interval = (seen.get("interval_ms") or self._quota.interval_ms or 10_000) / 1000
            self._window_ends = time.monotonic() + interval


def _fill(template: str, values: Sequence[str]) -> str:
    """The template with its ``{placeholders}`` replaced, in order, by URL-quoted values."""
    parts = template.split("{")
    path = parts[0]
    for value, part in zip(values, parts[1:], strict=True):
        path += quote(value, safe="") + part.split("}", 1)[1]
    return path


def _body(reply: Reply) -> dict[str, Any]:
    try:
        body = reply.json()
    except CallFailed:
        return {}
    return body if isinstance(body, dict) else {}


def _parse(model: type[Model], reply: Reply) -> Model:
    try:
        return model.model_validate_json(reply.body)
    except ValidationError:
        raise CallFailed(
            Category.bad_response, f"HTTP {reply.status}, not the documented shape", reply.status
        ) from None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
