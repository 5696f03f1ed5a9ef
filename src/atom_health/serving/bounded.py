"""The HTTP protocol ``serve`` runs: uvicorn's, with what one client can make us hold
bounded."""

from __future__ import annotations

import asyncio
from typing import Any

from atom_health.config.security import SecuritySettings


def bounded_server_options(security: SecuritySettings) -> dict[str, Any]:
    """uvicorn options that bound what one client can make us hold: request head size and
    header count, the time to send a request head, idle keep-alive, and concurrency."""
    return {
        "http": _bounded_protocol(
            security.max_header_bytes, security.max_headers, security.header_timeout_seconds
        ),
        "h11_max_incomplete_event_size": security.max_header_bytes,
        "timeout_keep_alive": security.keep_alive_seconds,
        "limit_concurrency": security.max_concurrency,
    }


def _bounded_protocol(max_bytes: int, max_headers: int, timeout: float) -> type[Any] | str:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

        from atom_health.serving.cycle import ResponseCycle
    except ImportError:  # no httptools: h11, bounded by h11_max_incomplete_event_size
        return "h11"

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        """httptools buffers a request head without limit, and waits for it forever; this
        answers 431 past ``max_bytes`` or ``max_headers``, and closes a connection that has
        not sent a complete head within ``timeout`` seconds.

        The time limit costs a number per request: one watchdog per connection wakes every
        ``timeout`` seconds at most and closes it when a head has been arriving for longer.
        Each request's response goes through :class:`~atom_health.serving.cycle.ResponseCycle`.
        """

        _head_bytes = 0
        _header_count = 0
        _refused = False  # this connection's head was refused, or took too long: it is closing
        _head_since: float | None = None  # loop time the head being read began; None: none
        _watchdog: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._head_since = self.loop.time()
            self._watchdog = self.loop.call_later(timeout, self._watch)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._watchdog is not None:
                self._watchdog.cancel()
                self._watchdog = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._head_since is not None and not self._refused:
                self._head_bytes += len(data)
                if self._head_bytes > max_bytes:
                    self._refuse_head(b"request head too large")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_since = self.loop.time()
            self._header_count = 0

        def on_header(self, name: bytes, value: bytes) -> None:
            self._header_count += 1
            if self._header_count > max_headers:
                self._refuse_head(b"too many request headers")
            elif not self._refused:
                super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._head_since = None
            self._head_bytes = 0
            if not self._refused:  # a refused head never reaches the app
                super().on_headers_complete()
                if type(self.cycle) is RequestResponseCycle:  # the one just made for this request
                    self.cycle.__class__ = ResponseCycle  # same state, its own send

        def on_body(self, body: bytes) -> None:
            if not self._refused:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self._refused:
                super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._head_bytes = 0  # the next request on this connection starts now

        def _watch(self) -> None:
            since = self._head_since
            waited = 0.0 if since is None else self.loop.time() - since
            if waited >= timeout:
                self._watchdog = None
                self._refused = True
                self.transport.close()
            else:
                self._watchdog = self.loop.call_later(timeout - waited, self._watch)

        def _refuse_head(self, reason: bytes) -> None:
            if self._refused or self.transport.is_closing():
                return
            self._refused = True
            body = b'{"ok":false,"error":"request_head_too_large","message":"' + reason + b'"}'
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: application/json\r\nconnection: close\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            self.transport.close()

    return BoundedHttpToolsProtocol
