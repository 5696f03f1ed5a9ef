"""Hardened edges for every response and request of the app (pure ASGI, outermost).

- Security headers on every response: a CSP with no external source and
  ``frame-ancestors 'none'``, ``nosniff``, ``no-referrer``.
- A Host allow-list (``security.allowed_hosts``): a browser led to us by DNS rebinding
  sends the attacker's name as Host and gets a 400. By default, a connection that arrives
  on a loopback address must name a loopback host.
- At most ``security.max_headers`` headers (431), and a request body cap (413).

Header size and read time are bounded earlier, by the server (:mod:`atom_health.serving`).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Iterable
from functools import lru_cache

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atom_health.config.security import SecuritySettings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [  # documents: pages, assets, streams, badges
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# JSON is never a page: nothing may load from it or frame it (OWASP's REST Security Cheat
# Sheet lists these for API responses; the opener policy concerns pages only).
JSON_SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


@lru_cache(maxsize=256)
def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(host: str) -> str:
    """A Host header's name, lower-case, without the port (``[::1]:80`` gives ``[::1]``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


class HardeningMiddleware:
    def __init__(self, app: ASGIApp, security: SecuritySettings) -> None:
        self.app = app
        self.max_body = security.max_body_bytes
        self.max_headers = security.max_headers
        hosts = security.allowed_hosts
        self.any_host = hosts is not None and "*" in hosts
        self.allowed = None if hosts is None else frozenset(host_name(h) for h in hosts)
        self._verdicts: dict[tuple[bytes | None, bool], bool] = {}  # clients send a few Hosts

    def host_allowed(self, scope: Scope, host: bytes | None) -> bool:
        if self.any_host:
            return True
        server = scope.get("server")
        loopback = server is not None and is_loopback(str(server[0]))
        verdict = self._verdicts.get((host, loopback))
        if verdict is None:
            verdict = self._decide(host, loopback)
            if len(self._verdicts) < 256:  # a client may send any number of others
                self._verdicts[host, loopback] = verdict
        return verdict

    def _decide(self, host: bytes | None, loopback: bool) -> bool:
        allowed = self.allowed
        if allowed is None:
            if not loopback:
                return True
            allowed = LOOPBACK_NAMES
        return host is not None and host_name(host.decode("latin-1")) in allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = refused = False

        def send_secured(message: Message) -> Awaitable[None]:
            # A plain function returning the server's awaitable: no coroutine of its own per
            # message (both send wrappers of the edge are written so).
            nonlocal started
            if refused:  # the app answers a body it could not read; we already did
                return _dropped()
            if message["type"] == "http.response.start":
                started = True
                headers = message.get("headers", ())
                message["headers"] = [*headers, *security_headers_for(headers)]
            return send(message)

        headers = scope["headers"]
        if len(headers) > self.max_headers:
            await refuse(send_secured, 431, "too_many_headers", "Too many request headers")
            return
        host = content_length = None
        for name, value in headers:
            if name == b"host":
                host = value
            elif name == b"content-length":
                content_length = value
        if not self.host_allowed(scope, host):
            await refuse(send_secured, 400, "host_not_allowed", "This Host is not served here")
            return
        if content_length is not None and _too_long(content_length, self.max_body):
            await refuse(send_secured, 413, "body_too_large", "The request body is too large")
            return
        received = 0

        async def receive_capped() -> Message:
            """Count a body sent without Content-Length; past the cap, answer 413 and tell
            the app the client is gone."""
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    if not started and not refused:
                        await refuse(
                            send_secured, 413, "body_too_large", "The request body is too large"
                        )
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, receive_capped, send_secured)


def security_headers_for(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The security headers for a response with these headers (names lower-case, as ASGI
    has them): a stricter, shorter set for JSON, the full set for everything else."""
    for name, value in headers:
        if name == b"content-type":
            return (
                JSON_SECURITY_HEADERS if value.startswith(b"application/json") else SECURITY_HEADERS
            )
    return SECURITY_HEADERS


async def _dropped() -> None:
    return None


def _too_long(content_length: bytes, limit: int) -> bool:
    return not content_length.isdigit() or int(content_length) > limit


async def refuse(send: Send, status: int, error: str, message: str) -> None:
    body = json.dumps({"ok": False, "error": error, "message": message}).encode()
    headers: Iterable[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body})
