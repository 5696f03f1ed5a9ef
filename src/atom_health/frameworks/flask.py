"""atom-health inside a Flask app: the same API, byte for byte, from synchronous views.

``AtomHealth(app)`` starts the engine on a background event loop owned by the extension
and registers a blueprint whose rules are generated from the FastAPI app's own routes;
each view hands the request to that ASGI app and returns its answer unchanged. So every
body and status code is the FastAPI one: there is a single source of truth.

``@requires_integration("zoom")`` gates a Flask view like ``require_healthy`` does in FastAPI.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import os
import re
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from typing import Any, TypeVar

import httpx
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from atom_health.model.errors import MissingExtraError

try:
    from flask import Blueprint, Flask, Response, current_app, request, stream_with_context
except ImportError:
    raise MissingExtraError("The Flask extension", "flask") from None

from atom_health.config import Settings, load_settings
from atom_health.system import HealthSystem
from atom_health.web.access import AccessMiddleware
from atom_health.web.gates import gate_detail
from atom_health.web.hardening import SECURITY_HEADERS, security_headers_for

T = TypeVar("T")
EXTENSION = "atom_health"
# Hop-by-hop and framing headers: each server sets its own. Every other header passes, both
# ways: keys, session cookies, Origin and Host reach access control; ETags and the security
# headers reach the browser.
_NOT_PASSED = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive",
                         "upgrade", "te", "trailer", "date", "server"})  # fmt: skip
# Compression is the WSGI server's business: the app is asked for plain bodies.
_NOT_ASKED = _NOT_PASSED | {"accept-encoding"}
_SECURITY_HEADERS = [(k.decode(), v.decode()) for k, v in SECURITY_HEADERS]
_STREAMS = {"/api/events"}
_CLIENT = "atom_health.client"


class _PerClientTransport(httpx.ASGITransport):
    """Each request's ASGI scope names the Flask request's client, so rate limits and the
    audit trail are per client, as behind uvicorn."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # The scope is built before the first await below: no other request interleaves.
        self.client = request.extensions.get(_CLIENT, ("unknown", 0))
        return await super().handle_async_request(request)


class AtomHealth:
    def __init__(
        self,
        app: Flask | None = None,
        *,
        settings: Settings | None = None,
        system: HealthSystem | None = None,
        environ: Mapping[str, str] = os.environ,
        url_prefix: str = "",
    ) -> None:
        self.settings = settings or load_settings(environ=environ)
        self._system = system
        self.environ = environ
        self.url_prefix = url_prefix.rstrip("/")
        self.loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self.system: HealthSystem
        self._client: httpx.AsyncClient
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="atom-health-loop", daemon=True
        )
        self._thread.start()
        self.system = self._system or HealthSystem(self.settings, self.environ)
        self.asgi = self.system.web_app()
        transport = _PerClientTransport(app=self.asgi)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://atom-health")
        self.run(self.system.start())
        app.register_blueprint(self.blueprint())
        app.extensions[EXTENSION] = self
        atexit.register(self.stop)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 60) -> T:
        """Run a coroutine on the extension's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the engine and the loop; safe to call twice."""
        if self._thread is None:
            return
        self.run(self.system.stop())
        self.run(self._client.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self._thread = None

    def blueprint(self) -> Blueprint:
        """Rules for every route of the FastAPI app, and for its dashboard assets."""
        blueprint = Blueprint("atom_health", __name__, url_prefix=self.url_prefix or None)
        for route in self.asgi.routes:
            if isinstance(route, Route):  # every endpoint (API, docs, dashboard); not mounts
                path = route.path
                rule = re.sub(r"\{(\w+)\}", r"<\1>", path)
                view = self._stream if path in _STREAMS else self._forward
                methods = sorted(getattr(route, "methods", None) or {"GET"})
                blueprint.add_url_rule(
                    rule,
                    endpoint=f"r{len(blueprint.deferred_functions)}",
                    view_func=view,
                    methods=methods,
                )
        blueprint.add_url_rule("/assets/<path:path>", endpoint="assets", view_func=self._forward)
        return blueprint

    def _path(self) -> str:
        return request.path[len(self.url_prefix) :] or "/"

    def _forward(self, **_: str) -> Response:
        answer = self.run(
            self._client.request(
                request.method,
                self._path(),
                params=list(request.args.items(multi=True)),
                headers=_request_headers(),
                content=request.get_data(),
                extensions={_CLIENT: _client_address()},
            )
        )
        passed = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in _NOT_PASSED]
        return Response(answer.content, status=answer.status_code, headers=passed)

    def _stream(self, **_: str) -> Response:
        """Relay the live event stream chunk by chunk (it never ends on its own), once access
        control has admitted the request as it admits ``GET /api/events`` on FastAPI."""
        refused = self.run(self._admission())
        if refused is not None:
            return refused
        events = self.system.live.stream()

        async def following() -> str:  # run_coroutine_threadsafe needs a real coroutine
            return await anext(events)

        def relay() -> Iterator[str]:
            try:
                while True:
                    yield self.run(following(), timeout=None)
            except StopAsyncIteration:
                return
            finally:
                self.run(events.aclose())

        headers = [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no"), *_SECURITY_HEADERS]
        return Response(stream_with_context(relay()), mimetype="text/event-stream", headers=headers)

    async def _admission(self) -> Response | None:
        """Run the request through the app's access control in front of an inner app that
        only admits it; the refusal (401, 403, 429) when access control answered itself."""
        admitted = False

        async def admit(scope: Scope, receive: Receive, send: Send) -> None:
            nonlocal admitted
            admitted = True
            await send({"type": "http.response.start", "status": 200, "headers": []})

        sent: list[Message] = []

        async def keep(message: Message) -> None:
            sent.append(message)

        async def nothing() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        scope: Scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": request.method, "scheme": request.scheme, "path": self._path(),
            "raw_path": self._path().encode(), "root_path": "",
            "query_string": request.query_string,
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in _request_headers().items()],
            "client": _client_address(), "server": ("atom-health", None),
        }  # fmt: skip
        await AccessMiddleware(admit, self.asgi.state.access)(scope, nothing, keep)
        if admitted:
            return None
        start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
        raw = [*start["headers"], *security_headers_for(start["headers"])]
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw
                   if k.decode("latin-1") not in _NOT_PASSED]  # fmt: skip
        return Response(body, status=start["status"], headers=headers)


def _request_headers() -> dict[str, str]:
    passed = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_ASKED}
    return {**passed, "Accept-Encoding": "identity"}


def _client_address() -> tuple[str, int]:
    return (request.remote_addr or "unknown", int(request.environ.get("REMOTE_PORT") or 0))


def requires_integration(
    service: str, *, allow_degraded: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Gate a Flask view: 503 with the same body as FastAPI's ``require_healthy``."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def gated(*args: Any, **kwargs: Any) -> Any:
            extension: AtomHealth = current_app.extensions[EXTENSION]
            detail = extension.run(gate_detail(extension.system.monitor, service, allow_degraded))
            if detail is None:
                return view(*args, **kwargs)
            body = json.dumps({"detail": detail}, ensure_ascii=False, separators=(",", ":"))
            headers = {"Retry-After": str(detail["retry_after"])} if detail["retry_after"] else {}
            return Response(body, status=503, mimetype="application/json", headers=headers)

        return gated

    return decorate
