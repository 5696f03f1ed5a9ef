"""HubSpot as the simulator plays it: account info, the CRM v3 objects (contacts, companies,
deals) and owners, seeded with 15,000 records, and the OAuth refresh-token endpoint.

Shapes follow HubSpot's public API spec (research notes: ``/work/research/
hubspot-webhooks-facts.md``): list pages with ``paging.next.after`` and no ``paging`` on the
last page, search answers with ``total``, 207 batch reads naming missing ids, errors with
``status/message/correlationId/category``, 401 ``EXPIRED_AUTHENTICATION`` for an expired
OAuth token, and ``X-HubSpot-RateLimit-*`` headers on every non-search answer (the daily
ones only for private-app tokens). The interval limit is enforced for real (a rolling
window; 429 with ``policyName: TEN_SECONDLY_ROLLING``), with limits an admin call can change.
Records are generated on first use, so a reset costs nothing.
"""

from __future__ import annotations

import bisect
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class Accounts(Protocol):
    """The simulator's issued tokens (``providers.Accounts``), as these handlers use them."""

    def issue(self, provider: str) -> str: ...

    def valid(self, provider: str, token: str | None) -> bool: ...


HUBSPOT_CREDENTIALS = {
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-sim-hubspot-token",
    "HUBSPOT_CLIENT_ID": "sim-hubspot-client-id",
    "HUBSPOT_CLIENT_SECRET": "sim-hubspot-client-secret",
    "HUBSPOT_REFRESH_TOKEN": "sim-hubspot-refresh-token",
}
# An OAuth access token the simulated HubSpot says expired (for renewal tests and demos).
EXPIRED_ACCESS_TOKEN = "sim-hubspot-expired-access-token"
SEED_COUNTS = {"contacts": 10_000, "companies": 2_000, "deals": 3_000}
FIRST_ID = {"contacts": 1001, "companies": 5_000_001, "deals": 9_000_001}
OWNERS = 12
EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SEARCH_CAP = 10_000  # "limited to 10,000 total results for any given query"

# Properties each type knows; the first ones are returned when none are asked for.
PROPERTIES = {
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname",
                 "phone", "company", "lifecyclestage", "hubspot_owner_id", "city"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name",
                  "industry", "city", "numberofemployees", "hubspot_owner_id"],
    "deals": ["amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate",
              "hs_object_id", "pipeline", "hubspot_owner_id"],
}  # fmt: skip
DEFAULT_PROPERTIES = {
    "contacts": PROPERTIES["contacts"][:6],
    "companies": PROPERTIES["companies"][:5],
    "deals": PROPERTIES["deals"][:8],
}
MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
            "deals": "hs_lastmodifieddate"}  # fmt: skip
SEARCHABLE = {"contacts": ["firstname", "lastname", "email", "phone", "company"],
              "companies": ["name", "domain", "city"], "deals": ["dealname"]}  # fmt: skip
_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret",
          "Ken", "Radia", "Tim", "Linus", "Guido", "Sophie", "Niklaus"]  # fmt: skip
_LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus",
         "Hamilton", "Thompson", "Perlman", "Lee", "Torvalds", "Rossum", "Wilson", "Wirth"]  # fmt: skip
_CITIES = ["Boston", "Dublin", "Berlin", "Sydney", "Tokyo", "Paris", "Toronto", "Austin"]
_STAGES = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "closedwon",
    "closedlost",
]
_INDUSTRIES = ["COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "HOSPITAL_HEALTH_CARE", "RETAIL"]


def _iso(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _seed_properties(object_type: str, n: int) -> dict[str, str | None]:
    owner = str(100 + n % OWNERS)
    if object_type == "contacts":
        first, last = _FIRST[n % len(_FIRST)], _LAST[(n // len(_FIRST)) % len(_LAST)]
        return {"email": f"{first}.{last}.{n}@example.com".lower(), "firstname": first,
                "lastname": last, "phone": f"+1-555-{n:07d}", "company": f"Example {n % 2000}",
                "lifecyclestage": ["lead", "customer", "subscriber"][n % 3],
                "hubspot_owner_id": owner, "city": _CITIES[n % len(_CITIES)]}  # fmt: skip
    if object_type == "companies":
        return {"name": f"Example {n}", "domain": f"example{n}.com", "industry": _INDUSTRIES[n % 4],
                "city": _CITIES[n % len(_CITIES)], "numberofemployees": str(10 + n % 990),
                "hubspot_owner_id": owner}  # fmt: skip
    return {"dealname": f"Deal {n}", "amount": str(1000 + (n * 37) % 99_000),
            "dealstage": _STAGES[n % len(_STAGES)], "pipeline": "default",
            "closedate": _iso(EPOCH + timedelta(days=30 + n % 300)), "hubspot_owner_id": owner}  # fmt: skip


_SEED: dict[str, dict[str, dict[str, Any]]] = {}


def seed(object_type: str) -> dict[str, dict[str, Any]]:
    """The generated records of a type, built once per process (read-only: copy to change)."""
    records = _SEED.get(object_type)
    if records is None:
        records = {}
        for n in range(SEED_COUNTS[object_type]):
            record_id = str(FIRST_ID[object_type] + n)
            stamp = _iso(EPOCH + timedelta(minutes=n))
            props = {**_seed_properties(object_type, n), "hs_object_id": record_id,
                     "createdate": stamp, MODIFIED[object_type]: stamp}  # fmt: skip
            records[record_id] = {"id": record_id, "properties": props, "createdAt": stamp,
                                  "updatedAt": stamp, "archived": False}  # fmt: skip
        _SEED[object_type] = records
    return records


@dataclass
class SimLimits:
    """The simulated account's limits (a private app on the Free/Starter tier: 100 per 10 s
    is that tier's burst; 190 is Professional's, kept so tests and demos are not throttled)."""

    interval_max: int = 190
    interval_ms: int = 10_000
    daily: int = 250_000


@dataclass
class CrmStore:
    limits: SimLimits = field(default_factory=SimLimits)
    expired: set[str] = field(default_factory=set)
    _objects: dict[str, dict[str, dict[str, Any]]] | None = None
    _order: dict[str, list[int]] = field(default_factory=dict)
    _window: deque[float] = field(default_factory=deque)
    _daily_used: int = 0

    def reset(self) -> None:
        self.limits = SimLimits()
        self.expired = set()
        self._objects = None
        self._order = {}
        self._window = deque()
        self._daily_used = 0

    def objects(self, object_type: str) -> dict[str, dict[str, Any]]:
        """This store's records of a type: the shared seed, copied on first use (records are
        replaced, never changed in place, so the seed stays as generated)."""
        if self._objects is None:
            self._objects, self._order = {}, {}
        if object_type not in self._objects:
            records = seed(object_type)
            self._objects[object_type] = dict(records)
            self._order[object_type] = [int(i) for i in records]
        return self._objects[object_type]

    def order(self, object_type: str) -> list[int]:
        self.objects(object_type)
        return self._order[object_type]

    def add(self, object_type: str, properties: dict[str, str | None]) -> dict[str, Any]:
        records, order = self.objects(object_type), self.order(object_type)
        record_id = order[-1] + 1
        stamp = _iso(datetime.now(UTC))
        props = {**properties, "hs_object_id": str(record_id), "createdate": stamp,
                 MODIFIED[object_type]: stamp}  # fmt: skip
        record = {"id": str(record_id), "properties": props, "createdAt": stamp,
                  "updatedAt": stamp, "archived": False}  # fmt: skip
        records[str(record_id)] = record
        order.append(record_id)
        return record

    def consume(self) -> tuple[str | None, int]:
        """Count one request: (the policy it broke or None, interval calls remaining)."""
        if self._daily_used >= self.limits.daily:
            return "DAILY", 0
        now = time.monotonic()
        span = self.limits.interval_ms / 1000
        while self._window and now - self._window[0] >= span:
            self._window.popleft()
        if len(self._window) >= self.limits.interval_max:
            return "TEN_SECONDLY_ROLLING", 0
        self._window.append(now)
        self._daily_used += 1
        return None, self.limits.interval_max - len(self._window)

    def headers(self, remaining: int, private_app: bool) -> dict[str, str]:
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.limits.interval_ms),
            "X-HubSpot-RateLimit-Max": str(self.limits.interval_max),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
        }
        if private_app:  # "OAuth authenticated calls will not include X-HubSpot-RateLimit-Daily"
            headers["X-HubSpot-RateLimit-Daily"] = str(self.limits.daily)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
                max(0, self.limits.daily - self._daily_used)
            )
        return headers


def crm_of(request: Request) -> CrmStore:
    crm: CrmStore = request.app.state.sim.crm
    return crm


def error(status: int, category: str, message: str, **extra: Any) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
            "category": category, **extra}  # fmt: skip
    return JSONResponse(body, status)


def refused() -> Response:
    return error(401, "INVALID_AUTHENTICATION",
                 "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                 "and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")  # fmt: skip


def expired() -> Response:
    when = datetime.now(UTC) - timedelta(seconds=75)
    return error(401, "EXPIRED_AUTHENTICATION",
                 "The OAuth token used to make this call expired 75 second(s) ago.",
                 context={"expire time": [_iso(when)]})  # fmt: skip


def rate_limited(policy: str, headers: dict[str, str]) -> Response:
    """429 as HubSpot documents it: the policy named in the body (only it is relied upon)."""
    limit = "daily" if policy == "DAILY" else "ten_secondly_rolling"
    return JSONResponse(
        {"status": "error", "message": f"You have reached your {limit} limit.",
         "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
         "policyName": policy, "requestId": str(uuid.uuid4())},
        429,
        headers=headers,
    )  # fmt: skip


def fault_rate_limited(seconds: int) -> Response:
    """The simulator's rate_limit fault: the window reported is the fault's ``retry_after``."""
    headers = {"X-HubSpot-RateLimit-Interval-Milliseconds": str(max(1, seconds) * 1000),
               "X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Remaining": "0"}  # fmt: skip
    return rate_limited("TEN_SECONDLY_ROLLING", headers)


def _authorize(request: Request, accounts: Accounts) -> Response | bool:
    """True for the private-app token, False for an issued OAuth token, else the 401."""
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return refused()
    if token == HUBSPOT_CREDENTIALS["HUBSPOT_ACCESS_TOKEN"]:
        return True
    if accounts.valid("hubspot", token):
        return False
    if token == EXPIRED_ACCESS_TOKEN or token in crm_of(request).expired:
        return expired()
    return refused()


def _metered(request: Request, accounts: Accounts) -> tuple[Response | None, dict[str, str]]:
    """Authorize and count one request: (the refusal or None, rate-limit headers)."""
    kind = _authorize(request, accounts)
    if isinstance(kind, Response):
        return kind, {}
    crm = crm_of(request)
    broken, remaining = crm.consume()
    headers = crm.headers(remaining, private_app=kind)
    if broken is not None:
        return rate_limited(broken, headers), headers
    return None, headers


def _type(request: Request) -> str | None:
    object_type = request.path_params.get("objectType", "")
    return object_type if object_type in SEED_COUNTS else None


def _unknown_type(request: Request) -> Response:
    name = request.path_params.get("objectType", "")
    return error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}")


def _view(record: dict[str, Any], object_type: str, wanted: list[str] | None) -> dict[str, Any]:
    names = wanted if wanted else DEFAULT_PROPERTIES[object_type]
    props = record["properties"]
    return {
        **record,
        "properties": {n: props.get(n) for n in names if n in PROPERTIES[object_type]},
    }


def _wanted(request: Request) -> list[str] | None:
    raw = request.query_params.get("properties")
    return [p for p in raw.split(",") if p] if raw else None


def _invalid_properties(object_type: str, properties: Any) -> Response | None:
    if not isinstance(properties, dict):
        return error(
            400, "VALIDATION_ERROR", "Invalid input JSON on line 1: properties must be an object"
        )
    unknown = [name for name in properties if name not in PROPERTIES[object_type]]
    if unknown:
        return error(400, "VALIDATION_ERROR", f'Property values were not valid: [{{"isValid":false,'
                     f'"message":"Property \\"{unknown[0]}\\" does not exist","error":"PROPERTY_DOESNT_EXIST",'
                     f'"name":"{unknown[0]}"}}]',
                     errors=[{"message": f'Property "{unknown[0]}" does not exist',
                              "code": "PROPERTY_DOESNT_EXIST", "context": {"propertyName": [unknown[0]]}}])  # fmt: skip
    if not all(isinstance(v, str) or v is None for v in properties.values()):
        return error(400, "VALIDATION_ERROR", "Property values must be strings")
    return None


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None


def _with(response: Response, headers: dict[str, str]) -> Response:
    response.headers.update(headers)
    return response


async def account_info(request: Request, accounts: Accounts) -> Response:
    refusal, headers = _metered(request, accounts)
    if refusal is not None:
        return refusal
    return _with(JSONResponse(
        {"portalId": 62515, "accountType": "STANDARD", "timeZone": "US/Eastern", "companyCurrency": "USD",
         "additionalCurrencies": [], "utcOffset": "-05:00", "utcOffsetMilliseconds": -18000000,
         "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"}
    ), headers)  # fmt: skip


async def list_objects(request: Request, accounts: Accounts) -> Response:
    refusal, headers = _metered(request, accounts)
    if refusal is not None:
        return refusal
    object_type = _type(request)
    if object_type is None:
        return _unknown_type(request)
    try:
        limit = int(request.query_params.get("limit", "10"))
        after = int(request.query_params.get("after", "0") or "0")
    except ValueError:
        return error(400, "VALIDATION_ERROR", "limit and after must be integers")
    if not 1 <= limit <= 100:
        return error(400, "VALIDATION_ERROR", "limit must be between 1 and 100")
    records, order = crm_of(request).objects(object_type), crm_of(request).order(object_type)
    start = bisect.bisect_left(order, after)
    chosen = order[start : start + limit]
    wanted = _wanted(request)
    body: dict[str, Any] = {
        "results": [_view(records[str(i)], object_type, wanted) for i in chosen]
    }
    if start + limit < len(order):
        next_after = str(order[start + limit])
        query = urlencode({**dict(parse_qsl(request.url.query)), "after": next_after})
        body["paging"] = {
            "next": {"after": next_after, "link": f"{request.url.replace(query=query)}"}
        }
    return _with(JSONResponse(body), headers)


async def get_object(request: Request, accounts: Accounts) -> Response:
    refusal, headers = _metered(request, accounts)
    if refusal is not None:
        return refusal
    object_type = _type(request)
    if object_type is None:
        return _unknown_type(request)
    object_id = request.path_params["objectId"]
    record = crm_of(request).objects(object_type).get(object_id)
    if record is None:
        return _with(_not_found(object_id), headers)
    return _with(JSONResponse(_view(record, object_type, _wanted(request))), headers)


def _not_found(object_id: str) -> Response:
    return error(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.",
                 context={"id": [object_id]})  # fmt: skip


async def _write(
    request: Request, accounts: Accounts
) -> tuple[Response | None, str, dict[str, str | None], dict[str, str]]:
    """A create or update request: (its refusal or None, type, properties, rate headers)."""
    refusal, headers = _metered(request, accounts)
    if refusal is not None:
        return refusal, "", {}, headers
    object_type = _type(request)
    if object_type is None:
        return _unknown_type(request), "", {}, headers
    body = await _json(request)
    properties = body.get("properties") if isinstance(body, dict) else None
    invalid = _invalid_properties(object_type, properties)
    if invalid is not None:
        return _with(invalid, headers), "", {}, headers
    assert isinstance(properties, dict)
    return None, object_type, properties, headers


async def create_object(request: Request, accounts: Accounts) -> Response:
    refusal, object_type, properties, headers = await _write(request, accounts)
    if refusal is not None:
        return refusal
    crm = crm_of(request)
    if object_type == "contacts" and properties.get("email"):
        email = str(properties["email"]).lower()
        for record in crm.objects("contacts").values():
            if str(record["properties"].get("email") or "").lower() == email:
                return _with(
                    error(409, "CONFLICT", f"Contact already exists. Existing ID: {record['id']}"),
                    headers,
                )
    record = crm.add(object_type, properties)
    return _with(JSONResponse(_view(record, object_type, list(record["properties"])), 201), headers)


async def update_object(request: Request, accounts: Accounts) -> Response:
    refusal, object_type, properties, headers = await _write(request, accounts)
    if refusal is not None:
        return refusal
    object_id = request.path_params["objectId"]
    record = crm_of(request).objects(object_type).get(object_id)
    if record is None:
        return _with(_not_found(object_id), headers)
    stamp = _iso(datetime.now(UTC))
    changed = {**record["properties"], **properties, MODIFIED[object_type]: stamp}
    record = {**record, "properties": changed, "updatedAt": stamp}
    crm_of(request).objects(object_type)[object_id] = record
    return _with(
        JSONResponse(_view(record, object_type, [*properties, MODIFIED[object_type]])), headers
    )


async def batch_read(request: Request, accounts: Accounts) -> Response:
    refusal, headers = _metered(request, accounts)
    if refusal is not None:
        return refusal
    object_type = _type(request)
    if object_type is None:
        return _unknown_type(request)
    body = await _json(request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or len(inputs) > 100:
        return _with(
            error(400, "VALIDATION_ERROR", "inputs must be a list of at most 100 ids"), headers
        )
    wanted = body.get("properties") or None
    records = crm_of(request).objects(object_type)
    ids = [str(i.get("id")) for i in inputs if isinstance(i, dict)]
    found = [_view(records[i], object_type, wanted) for i in ids if i in records]
    missing = [i for i in ids if i not in records]
    now = _iso(datetime.now(UTC))
    answer: dict[str, Any] = {
        "status": "COMPLETE",
        "results": found,
        "startedAt": now,
        "completedAt": now,
    }
    if not missing:
        return _with(JSONResponse(answer), headers)
    label = object_type.rstrip("s").upper().replace("COMPANIE", "COMPANY")
    answer["numErrors"] = 1
    answer["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND",
                         "message": f"Could not get some {label} objects, they may be deleted or not exist. Check that ids are valid.",
                         "context": {"ids": missing}}]  # fmt: skip
    return _with(JSONResponse(answer, 207), headers)


def _matches(props: dict[str, Any], rule: dict[str, Any]) -> bool:
    value = props.get(str(rule.get("propertyName")))
    operator = rule.get("operator")
    if operator == "HAS_PROPERTY":
        return value not in (None, "")
    if operator == "NOT_HAS_PROPERTY":
        return value in (None, "")
    if value is None:
        return operator in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
    text, wanted = str(value), str(rule.get("value", ""))
    values = [str(v).lower() for v in rule.get("values") or []]
    if operator == "EQ":
        return text.lower() == wanted.lower()
    if operator == "NEQ":
        return text.lower() != wanted.lower()
    if operator in ("IN", "NOT_IN"):
        return (text.lower() in values) is (operator == "IN")
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = wanted.strip("*").lower()
        return (token in text.lower()) is (operator == "CONTAINS_TOKEN")
    low, high = _comparable(wanted), _comparable(str(rule.get("highValue", "")))
    current = _comparable(text)
    match operator:
        case "GT":
            return current > low
        case "GTE":
            return current >= low
        case "LT":
            return current < low
        case "LTE":
            return current <= low
        case "BETWEEN":
            return low <= current <= high
    return False


def _comparable(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
             "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}  # fmt: skip


async def search_objects(request: Request, accounts: Accounts) -> Response:
    # "Responses from the search API endpoints will not include any of the rate limit headers"
    kind = _authorize(request, accounts)
    if isinstance(kind, Response):
        return kind
    object_type = _type(request)
    if object_type is None:
        return _unknown_type(request)
    body = await _json(request)
    if not isinstance(body, dict):
        return error(400, "VALIDATION_ERROR", "Invalid input JSON")
    groups = body.get("filterGroups") or []
    rules = [f for g in groups if isinstance(g, dict) for f in g.get("filters") or []]
    bad = [f for f in rules if not isinstance(f, dict) or f.get("operator") not in OPERATORS]
    if (
        len(groups) > 5
        or bad
        or any(not isinstance(g, dict) or not g.get("filters") for g in groups)
    ):
        return error(400, "VALIDATION_ERROR", "There was a problem with the request.")
    limit, after = body.get("limit", 10), body.get("after") or "0"
    if not isinstance(limit, int) or not 1 <= limit <= 200 or not str(after).isdigit():
        return error(400, "VALIDATION_ERROR", "limit must be between 1 and 200")
    offset = int(after)
    if offset + limit > SEARCH_CAP:
        return error(400, "VALIDATION_ERROR", "Search results are limited to 10000 total results.")
    records = list(crm_of(request).objects(object_type).values())
    query = str(body.get("query") or "").lower()
    hits = [
        r for r in records
        if (not groups or any(all(_matches(r["properties"], f) for f in g["filters"]) for g in groups))
        and (not query or any(query in str(r["properties"].get(p) or "").lower()
                              for p in SEARCHABLE[object_type]))
    ]  # fmt: skip
    sorts = body.get("sorts") or []
    if sorts:
        first = sorts[0]
        name = first.get("propertyName") if isinstance(first, dict) else str(first).lstrip("-")
        descending = (
            (first.get("direction") == "DESCENDING")
            if isinstance(first, dict)
            else str(first).startswith("-")
        )
        hits.sort(
            key=lambda r: _comparable(str(r["properties"].get(name) or "")), reverse=descending
        )
    wanted = body.get("properties") or None
    page = hits[offset : offset + limit]
    answer: dict[str, Any] = {
        "total": len(hits),
        "results": [_view(r, object_type, wanted) for r in page],
    }
    if offset + limit < len(hits):
        answer["paging"] = {"next": {"after": str(offset + limit)}}
    return JSONResponse(answer)


def _owner(n: int) -> dict[str, Any]:
    first, last = _FIRST[n % len(_FIRST)], _LAST[n % len(_LAST)]
    stamp = _iso(EPOCH)
    return {"id": str(100 + n), "email": f"{first}.{last}@example.com".lower(), "type": "PERSON",
            "firstName": first, "lastName": last, "userId": 7000 + n, "userIdIncludingInactive": 7000 + n,
            "createdAt": stamp, "updatedAt": stamp, "archived": False,
            "teams": [{"id": "1", "name": "Sales", "primary": True}]}  # fmt: skip


async def list_owners(request: Request, accounts: Accounts) -> Response:
    refusal, headers = _metered(request, accounts)
    if refusal is not None:
        return refusal
    try:
        limit = int(request.query_params.get("limit", "100"))
        after = int(request.query_params.get("after", "0") or "0")
    except ValueError:
        return error(400, "VALIDATION_ERROR", "limit and after must be integers")
    owners = [_owner(n) for n in range(after, min(OWNERS, after + max(1, limit)))]
    body: dict[str, Any] = {"results": owners}
    if after + limit < OWNERS:
        body["paging"] = {"next": {"after": str(after + limit)}}
    return _with(JSONResponse(body), headers)


async def get_owner(request: Request, accounts: Accounts) -> Response:
    refusal, headers = _metered(request, accounts)
    if refusal is not None:
        return refusal
    owner_id = request.path_params["ownerId"]
    if not owner_id.isdigit() or not 100 <= int(owner_id) < 100 + OWNERS:
        return _with(error(404, "OBJECT_NOT_FOUND", "Object not found."), headers)
    return _with(JSONResponse(_owner(int(owner_id) - 100)), headers)


async def oauth_token(request: Request, accounts: Accounts) -> Response:
    """``POST /oauth/v1/token`` (form): the refresh-token grant."""
    form = dict(parse_qsl((await request.body()).decode(errors="replace")))
    pair = (form.get("client_id"), form.get("client_secret"))
    if pair != (
        HUBSPOT_CREDENTIALS["HUBSPOT_CLIENT_ID"],
        HUBSPOT_CREDENTIALS["HUBSPOT_CLIENT_SECRET"],
    ):
        # The shape of this answer is not documented; BAD_REFRESH_TOKEN's is (third-party).
        return JSONResponse(
            {"status": "BAD_CLIENT_ID", "message": "missing or unknown client id"}, 400
        )
    if (
        form.get("grant_type") != "refresh_token"
        or form.get("refresh_token") != HUBSPOT_CREDENTIALS["HUBSPOT_REFRESH_TOKEN"]
    ):
        return JSONResponse(
            {"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token"}, 400
        )
    return JSONResponse(
        {"access_token": accounts.issue("hubspot"), "refresh_token": HUBSPOT_CREDENTIALS["HUBSPOT_REFRESH_TOKEN"],
         "expires_in": 1800, "token_type": "bearer", "token_use": "access_token", "hub_id": 62515}
    )  # fmt: skip


HUBSPOT_API = {
    ("GET", "/account-info/v3/details"): account_info,
    ("GET", "/crm/v3/objects/{objectType}"): list_objects,
    ("POST", "/crm/v3/objects/{objectType}"): create_object,
    ("POST", "/crm/v3/objects/{objectType}/batch/read"): batch_read,
    ("POST", "/crm/v3/objects/{objectType}/search"): search_objects,
    ("GET", "/crm/v3/objects/{objectType}/{objectId}"): get_object,
    ("PATCH", "/crm/v3/objects/{objectType}/{objectId}"): update_object,
    ("GET", "/crm/v3/owners"): list_owners,
    ("GET", "/crm/v3/owners/{ownerId}"): get_owner,
}
