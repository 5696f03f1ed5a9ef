"""Answers served from bytes: each body is built and serialized once per change of its inputs.

One integration's health, the overview, the configuration report and the dashboard are kept
as JSON bytes with an ETag, together with the inputs they were built from: the engine's
results (for health, only while they are fresh and the integration's variables are
unchanged), the recent history's version, the hour, the configuration. A request whose
inputs still match gets the same bytes; ``If-None-Match`` with the ETag gets 304.

The response models in :mod:`atom_health.model.results` define every body and stay the
source of the OpenAPI document; bodies are validated when they are built, not per request.
"""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Scope, Send

from atom_health.checks.configuration import VariableWatch
from atom_health.history.recent import with_recent_history
from atom_health.history.rollups import HOUR
from atom_health.model.results import ServiceHealth
from atom_health.monitor import summarise
from atom_health.web.dashboard_data import critical_first, dashboard_service, frame
from atom_health.web.parts import SystemParts

JSON = b"application/json"
GZIP_FROM_BYTES = 1024
NO_CACHE = b"no-cache"  # clients may keep a body, but ask again (cheaply, with its ETag)


@dataclass(frozen=True)
class Variant:
    """One encoding of a body, with its headers ready to send."""

    body: bytes
    etag: bytes
    headers: list[tuple[bytes, bytes]] = field(repr=False)

    @classmethod
    def of(cls, body: bytes, etag: bytes, encoding: bytes | None, vary: bool) -> Variant:
        headers = [
            (b"content-type", JSON),
            (b"content-length", str(len(body)).encode()),
            (b"etag", etag),
            (b"cache-control", NO_CACHE),
        ]
        if encoding is not None:
            headers.append((b"content-encoding", encoding))
        if vary:
            headers.append((b"vary", b"accept-encoding"))
        return cls(body, etag, headers)


@dataclass(frozen=True)
class Answer:
    """One serialized body, ready to send; a large one also gzipped once (browsers and most
    clients accept gzip, and a 77 KB dashboard becomes a few KB)."""

    plain: Variant
    gzipped: Variant | None

    @classmethod
    def of(cls, model: BaseModel) -> Answer:
        return cls.of_json(to_json(model))

    @classmethod
    def of_json(cls, body: bytes) -> Answer:
        tag = hashlib.blake2b(body, digest_size=12).hexdigest().encode()
        if len(body) < GZIP_FROM_BYTES:
            return cls(Variant.of(body, b'"' + tag + b'"', None, vary=False), None)
        packed = gzip.compress(body, compresslevel=6, mtime=0)
        return cls(
            Variant.of(body, b'"' + tag + b'"', None, vary=True),
            Variant.of(packed, b'"' + tag + b'-gzip"', b"gzip", vary=True),
        )

    @property
    def body(self) -> bytes:
        return self.plain.body

    @property
    def etag(self) -> bytes:
        return self.plain.etag

    def choose(
        self, if_none_match: bytes | None, accept_encoding: bytes | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """(status, headers, body) for a request with these headers: 304 when
        ``If-None-Match`` names the body (weak comparison), gzip when accepted."""
        variant = self.plain
        if self.gzipped is not None and accept_encoding is not None and b"gzip" in accept_encoding:
            variant = self.gzipped
        if if_none_match is not None:
            tags = [tag.strip().removeprefix(b"W/") for tag in if_none_match.split(b",")]
            if b"*" in tags or variant.etag in tags:
                return 304, [(b"etag", variant.etag), (b"cache-control", NO_CACHE)], b""
        return 200, variant.headers, variant.body

    def response(self, headers: Headers) -> Response:
        """As a Starlette response (for routes)."""
        status, raw, body = self.choose(
            _header(headers, "if-none-match"), _header(headers, "accept-encoding")
        )
        response = Response(body, status_code=status)
        response.raw_headers = list(raw)
        return response

    async def send(self, scope: Scope, send: Send) -> None:
        """Straight to the ASGI server (for :class:`AnswerMiddleware`)."""
        if_none_match = accept_encoding = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value
            elif name == b"accept-encoding":
                accept_encoding = value
        status, headers, body = self.choose(if_none_match, accept_encoding)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _header(headers: Headers, name: str) -> bytes | None:
    value = headers.get(name)
    return value.encode("latin-1") if value is not None else None


@dataclass
class _Memo:
    key: object
    answer: Answer


class Answers:
    """The serialized answers of one system, rebuilt lazily when their inputs change."""

    def __init__(self, system: SystemParts, routes: Sequence[BaseRoute] = ()) -> None:
        self.monitor = system.monitor
        self._routes = routes  # the app's, read at the first request (when all are added)
        self._elsewhere: set[str] | None = None
        self._names: dict[str, str | None] = {}  # path -> the integration it names
        self.recent = system.recent
        self._services: dict[str, _Memo] = {}
        self._overview: _Memo | None = None
        self._configuration: _Memo | None = None
        self._dashboard: _Memo | None = None
        self._dashboard_inputs: object = None  # what the last dashboard() was built from
        self._overview_until = float("-inf")
        self._rows: dict[str, tuple[object, bytes]] = {}  # each row's JSON
        self._variables_of: tuple[int, VariableWatch] | None = None
        self._fixed: dict[str, Callable[[], Answer | None]] = {
            "/api/integrations/config": self.configuration,
            "/api/dashboard": self.dashboard,
            **dict.fromkeys(OVERVIEW_PATHS, self.overview),
        }

    @property
    def _variables(self) -> VariableWatch:
        """Every variable the enabled integrations read (follows the catalog's changes)."""
        catalog = self.monitor.catalog
        if self._variables_of is None or self._variables_of[0] != catalog.version:
            names = tuple(n for i in catalog for n in (*i.required_env, *i.optional_env))
            self._variables_of = (catalog.version, VariableWatch(self.monitor.environ, names))
        return self._variables_of[1]

    def for_path(self, path: str) -> Answer | None:
        """The answer for a GET of ``path`` without a query, or None: ask the engine."""
        fixed = self._fixed.get(path)
        if fixed is not None:
            return fixed()
        name = self.service_named(path)
        return self.service(name) if name is not None else None

    def service_named(self, path: str) -> str | None:
        """The integration a per-integration health path names, unless a fixed route of the
        app has that path (fixed routes win over /api/{service}/health in the router)."""
        try:
            return self._names[path]  # clients ask for a few paths, over and over
        except KeyError:
            pass
        if self._elsewhere is None:
            self._elsewhere = {p for r in self._routes if "{" not in (p := getattr(r, "path", "{"))}
        name = None if path in self._elsewhere or path in self._fixed else service_in_path(path)
        if len(self._names) < 1024:  # a client may send any number of others
            self._names[path] = name
        return name

    def service(self, name: str) -> Answer | None:
        """One integration's cached health, while the engine would serve it from cache."""
        integration = self.monitor.catalog.get(name)
        if integration is None:
            return None
        result = self.monitor.fresh(integration)
        if result is None:
            return None
        memo = self._services.get(integration.id)
        if memo is None or memo.key is not result:
            memo = _Memo(result, Answer.of(result.model_copy(update={"cached": True})))
            self._services[integration.id] = memo
        return memo.answer

    def overview(self) -> Answer | None:
        """The overview, when every integration's result is fresh in the engine's cache.

        While no cached result changed, none expired and the variables are the same, every
        line is what it was: one read of the variables decides (not one per integration).
        """
        variables = self._variables.signature()
        # Each line's age is as of the overview's timestamp (the clock alone changes nothing);
        # its 24 h uptime moves with the hour.
        catalog = self.monitor.catalog.version
        inputs = (
            variables,
            catalog,
            self.monitor.generation,
            self.recent.version,
            time.time() // HOUR,
        )
        memo = self._overview
        if memo is not None and memo.key == inputs and time.monotonic() < self._overview_until:
            return memo.answer
        results = []
        for integration in self.monitor.catalog:
            result = self.monitor.fresh(integration)
            if result is None:
                return None
            results.append(result)
        overview = summarise(results, bridge_system_used=self.monitor.bridge_system_used)
        body = with_recent_history(overview, self.recent)
        self._overview = _Memo(inputs, Answer.of(body))
        self._overview_until = min(self.monitor.fresh_until(i) for i in self.monitor.catalog)
        return self._overview.answer

    def configuration(self) -> Answer:
        """The configuration report; it changes only with the variables (their presence and,
        through their fingerprints, their values) or the catalog."""
        variables = self._variables.signature()
        key = (variables, self.monitor.catalog.version)
        if self._configuration is None or self._configuration.key != key:
            body = self.monitor.configuration_report()
            self._configuration = _Memo(key, Answer.of(body))
        return self._configuration.answer

    def dashboard(self) -> Answer | None:
        """The dashboard, once every integration has a result (of any age)."""
        catalog = self.monitor.catalog.version
        inputs = (catalog, self.monitor.generation, self.recent.version, time.time() // HOUR)
        if self._dashboard is not None and self._dashboard_inputs == inputs:
            return self._dashboard.answer
        latest = self.monitor.latest_results()
        if len(latest) < len(self.monitor.catalog):
            return None
        answer = self.dashboard_of([latest[i.id] for i in self.monitor.catalog])
        self._dashboard_inputs = inputs
        return answer

    def dashboard_of(self, results: Sequence[ServiceHealth]) -> Answer:
        """The dashboard for these results; only rows whose inputs changed are rebuilt, and
        the body is their JSON spliced into the serialized frame (so ~1 ms per new result)."""
        now = time.time()
        hour = now // HOUR
        key = (tuple(results), self.recent.version, hour, self.monitor.catalog.version)
        if self._dashboard is not None and self._dashboard.key == key:
            return self._dashboard.answer
        rows = []
        for result in critical_first(results):
            row_key = (result, self.recent.versions.get(result.service), hour)
            memo = self._rows.get(result.service)
            if memo is None or memo[0] != row_key:
                memo = (row_key, to_json(dashboard_service(self.recent, result, now)))
                self._rows[result.service] = memo
            rows.append(memo[1])
        disabled = [i.id for i in self.monitor.catalog.every() if not i.enabled]
        empty = to_json(frame(results, disabled))
        body = empty.removesuffix(b"[]}") + b"[" + b",".join(rows) + b"]}"
        self._dashboard = _Memo(key, Answer.of_json(body))
        return self._dashboard.answer


OVERVIEW_PATHS = (
    "/api/integrations/health",
    "/api/v2/health/health/all",
    "/api/v2/health/health/summary",
    "/api/enhanced/health/overview",
)


def service_in_path(path: str) -> str | None:
    """The integration named by a per-integration health path (or an alias), else None."""
    parts = path.split("/")
    name = None
    if len(parts) == 4 and parts[1] == "api" and parts[3] == "health":
        name = parts[2]  # /api/{service}/health
    elif len(parts) == 5 and parts[1:3] == ["api", "integrations"] and parts[4] == "health":
        name = parts[3]  # /api/integrations/{service}/health
    elif len(parts) == 6 and parts[1:5] == ["api", "v2", "health", "health"]:
        name = parts[5]  # /api/v2/health/health/{service}
    elif len(parts) == 6 and parts[1:4] == ["api", "enhanced", "integrations"]:
        name = parts[4] if parts[5] == "health" else None
    return name if name and len(name) <= 100 else None


def to_json(model: BaseModel) -> bytes:
    return model.__pydantic_serializer__.to_json(model)


def json_response(model: BaseModel) -> Response:
    """A body the engine just built, serialized once: FastAPI would validate it against the
    response model again (the models are checked by the tests instead)."""
    return Response(to_json(model), media_type="application/json")
