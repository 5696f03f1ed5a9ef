"""Who may do what, enforced for every route of the app, including routes added later.

The rules are the app's, not each route's: when any key is configured, every ``/api/...``
route and ``/metrics`` need a key (``security.metrics_public`` frees ``/metrics``); every
request that changes state (any method but GET, HEAD and OPTIONS), ``/api/audit``,
``/api/manage/...`` and a
``?refresh=true`` (``security.refresh_role``) need the admin role. ``/healthz``,
``/readyz``, the dashboard's page and assets, the docs and ``/api/session`` (signing in)
need none. A state-changing request from a browser must come from this origin.

Each ``/api/...`` request is also counted against its client's rate limit (the key's name,
else the address) and written to the audit trail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atom_health.config.security import Role, SecuritySettings, configured_keys
from atom_health.model.audit import AuditRecord
from atom_health.store.base import Store
from atom_health.web.audit import AuditTrail
from atom_health.web.auth import (
    SESSION_COOKIE,
    KeyRing,
    Principal,
    SessionStore,
    bearer_key,
    cookie_value,
)
from atom_health.web.rate_limit import InboundLimiter, limiter_for

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_PATH = "/api/session"
ADMIN_PATHS = ("/api/audit", "/api/manage/")
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})

UNAUTHORIZED = {
    "ok": False,
    "error": "unauthorized",
    "message": "A valid API key is required: send Authorization: Bearer <key>, "
    "or sign in on the dashboard",
}
NEEDS_ADMIN = {"ok": False, "error": "forbidden", "message": "This request needs the admin role"}
CROSS_ORIGIN = {
    "ok": False,
    "error": "forbidden",
    "message": "State-changing requests must come from this site (Origin check)",
}


class AccessError(BaseModel):
    """The body of a 401, 403 or 429: it never says whether a key exists."""

    ok: bool = False
    error: str = Field(description="unauthorized, forbidden or rate_limited")
    message: str
    retry_after: int | None = Field(default=None, description="Seconds, on a 429")


@dataclass(frozen=True)
class AccessPolicy:
    metrics_public: bool
    refresh_role: Role

    def needs(self, method: str, path: str, query: bytes) -> Role | None:
        """The role a request needs when keys are configured; None when it needs no key."""
        if path == "/metrics":
            return None if self.metrics_public else Role.read
        if not path.startswith("/api/") or path == SESSION_PATH:
            return None
        if method not in SAFE_METHODS or path.startswith(ADMIN_PATHS):
            return Role.admin
        if self.refresh_role is Role.admin and asks_refresh(query):
            return Role.admin
        return Role.read


def asks_refresh(query: bytes) -> bool:
    if b"refresh" not in query and b"%" not in query:
        return False
    return any(
        name == "refresh" and value.strip().lower() in _TRUE
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    )


@dataclass
class Access:
    """Everything the access rules need, built once per app."""

    keys: KeyRing
    sessions: SessionStore
    policy: AccessPolicy
    limiter: InboundLimiter | None
    audit: AuditTrail

    @classmethod
    def build(
        cls,
        security: SecuritySettings,
        environ: Mapping[str, str],
        store: Store,
        installation_key: bytes,
        redis_url: str | None = None,
    ) -> Access:
        keys = KeyRing(configured_keys(security, environ))
        return cls(
            keys=keys,
            sessions=SessionStore(security.session_hours * 3600, installation_key, keys),
            policy=AccessPolicy(security.metrics_public, security.refresh_role),
            limiter=limiter_for(security.rate_limit, security.rate_limit_storage, redis_url),
            audit=AuditTrail(store, log_lines=security.audit_log),
        )

    def principal(self, headers: Mapping[bytes, bytes]) -> tuple[Principal | None, bool]:
        """The caller, and whether it came by session cookie; (None, False) when anonymous."""
        authorization = headers.get(b"authorization")
        if authorization is not None:
            return self.keys.identify(bearer_key(authorization)), False
        cookie = headers.get(b"cookie")
        if cookie is not None:
            token = cookie_value(cookie, SESSION_COOKIE)
            if token:
                principal = self.sessions.lookup(token)
                return principal, principal is not None
        return None, False


def _guarded(path: str) -> bool:
    return path.startswith("/api/") or path == "/metrics"


def same_origin(headers: Mapping[bytes, bytes]) -> bool | None:
    """Whether the request's Origin is this host; None when the request names no origin."""
    origin = headers.get(b"origin")
    if origin is None:
        return None
    host = headers.get(b"host", b"").decode("latin-1").lower()
    return urlsplit(origin.decode("latin-1")).netloc.lower() == host


class AccessMiddleware:
    """Authenticate, rate-limit, authorize and audit every guarded request (pure ASGI)."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        access = self.access
        method: str = scope["method"]
        path: str = scope["path"]
        keyed = access.keys.enabled
        # Without keys nobody is identified; the headers matter only to a state change then.
        headers = dict(scope["headers"]) if keyed or method not in SAFE_METHODS else {}
        principal, via_cookie = access.principal(headers) if keyed else (None, False)
        client = scope.get("client")
        address = client[0] if client else "unknown"
        scope.setdefault("state", {})["principal"] = principal
        status = 500

        def send_and_note(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)  # the server's awaitable (no coroutine of its own)

        try:
            wait = None
            if access.limiter is not None and path.startswith("/api/"):
                who = f"key:{principal.name}" if principal else f"addr:{address}"
                wait = await access.limiter.check(who)
            refusal = self._refusal(
                method, path, scope, headers, principal, via_cookie, keyed, wait
            )
            if refusal is None:
                await self.app(scope, receive, send_and_note)
            else:
                await send_json(send_and_note, *refusal)
        finally:
            unsafe = method not in SAFE_METHODS
            access.audit.record(
                AuditRecord(  # in field order (keywords cost twice as much, per request)
                    time.time(),
                    principal.name if principal else "anonymous",
                    principal.role.value if principal else None,
                    address,
                    method,
                    path,
                    status,
                    round((time.perf_counter() - started) * 1000, 3),
                ),
                admin_action=unsafe
                and path != SESSION_PATH
                and (principal is not None or not keyed)
                and status not in (401, 429),
            )

    def _refusal(
        self,
        method: str,
        path: str,
        scope: Scope,
        headers: Mapping[bytes, bytes],
        principal: Principal | None,
        via_cookie: bool,
        keyed: bool,
        wait: float | None,
    ) -> tuple[int, Mapping[str, Any], list[tuple[bytes, bytes]]] | None:
        """The refusal for this request, or None; ``wait`` is the rate limit's (None: within)."""
        access = self.access
        if wait is not None:
            seconds = int(wait)
            body = {
                "ok": False,
                "error": "rate_limited",
                "message": f"Too many requests; retry after {seconds} s",
                "retry_after": seconds,
            }
            return 429, body, [(b"retry-after", str(seconds).encode())]
        if method not in SAFE_METHODS:
            origin_ok = same_origin(headers)
            if origin_ok is False or (origin_ok is None and via_cookie):
                return 403, CROSS_ORIGIN, []
        if not keyed:
            return None
        needed = access.policy.needs(method, path, scope["query_string"])
        if needed is None:
            return None
        if principal is None:
            return 401, UNAUTHORIZED, [(b"www-authenticate", b'Bearer realm="atom-health"')]
        if not principal.role.allows(needed):
            return 403, NEEDS_ADMIN, []
        return None


async def send_json(
    send: Send, status: int, body: Mapping[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    content = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


_REFUSALS = {
    "401": "No key, or not a valid one (the body never says which)",
    "403": "The key lacks the role this request needs, or a cross-origin state change",
    "429": "Too many requests from this client; see Retry-After",
}


_BODY_REFUSALS = {
    "400": "A body that cannot be read (not JSON)",
    "413": "A body larger than security.max_body_bytes",
}


def document_access(app: FastAPI) -> None:
    """Add the bearer scheme and the 401/403/429 answers to every guarded operation of the
    OpenAPI document (built once, from the routes registered by then)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})["apiKey"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (read or admin role)",
        }
        components.setdefault("schemas", {})["AccessError"] = AccessError.model_json_schema()
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/AccessError"}}}
        for path, operations in schema.get("paths", {}).items():
            if not _guarded(path):
                continue
            for operation in operations.values():
                operation["security"] = [{"apiKey": []}, {}]
                responses = operation.setdefault("responses", {})
                for code, description in _REFUSALS.items():
                    responses.setdefault(code, {"description": description, "content": error})
                if "requestBody" in operation:
                    for code, description in _BODY_REFUSALS.items():
                        responses.setdefault(code, {"description": description})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
