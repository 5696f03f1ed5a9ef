"""Run an ASGI app under uvicorn in a background thread, on a real loopback socket.

Used wherever one process needs a server beside other work: tests, benchmarks, the
provider simulator and the demo.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

from atom_health.config.security import SecuritySettings


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ThreadedServer:
    """``with ThreadedServer(app) as server: httpx.get(server.url + "/path")``."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int | None = None, **config: Any
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        options: dict[str, Any] = {
            "log_level": "warning",
            "lifespan": "on",
            "timeout_graceful_shutdown": 3,  # open event streams must not hold a stop
            **config,
        }
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, **options))
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> Self:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


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
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # no httptools: h11, bounded by h11_max_incomplete_event_size
        return "h11"

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        """httptools buffers a request head without limit, and waits for it forever; this
        answers 431 past ``max_bytes`` or ``max_headers``, and closes a connection that has
        not sent a complete head within ``timeout`` seconds.

        The time limit costs a number per request: one watchdog per connection wakes every
        ``timeout`` seconds at most and closes it when a head has been arriving for longer.
        Its transport writes a response's head with the body that follows (:class:`OneWrite`).
        """

        _head_bytes = 0
        _header_count = 0
        _refused = False  # this connection's head was refused, or took too long: it is closing
        _head_since: float | None = None  # loop time the head being read began; None: none
        _watchdog: asyncio.TimerHandle | None = None
        _writes: OneWrite

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._writes = OneWrite(transport)
            super().connection_made(self._writes)  # type: ignore[arg-type]
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

        def on_body(self, body: bytes) -> None:
            if not self._refused:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self._refused:
                super().on_message_complete()

        def on_response_complete(self) -> None:
            self._writes.flush()  # a head without a body (HEAD, 304) goes now
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


class OneWrite:
    """A connection's transport that sends a response's head together with the body that
    follows it: one system call and one TCP segment per small answer instead of two (the
    server writes them apart).

    Only a head that declares a ``content-length`` is held, and only until the next write
    (its body), the end of the response (:meth:`flush`, from the protocol: a HEAD or 304
    has no body) or the connection's close. Every other head (a stream's, chunked; an
    interim ``100 Continue``) and everything else passes straight on."""

    __slots__ = ("_head", "_transport")

    JOIN_UP_TO = 64 * 1024  # larger bodies go in their own write, not copied

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            if len(data) <= self.JOIN_UP_TO:
                self._transport.write(head + data)
                return
            self._transport.write(head)
        elif _is_head_with_length(data):
            self._head = data
            return
        self._transport.write(data)

    def flush(self) -> None:
        """Send a held head (the response ended without a body)."""
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:  # asked on every request: not through __getattr__
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, pause_reading, set_protocol, ...
        return getattr(self._transport, name)


def _is_head_with_length(data: bytes) -> bool:
    return (
        data.startswith(b"HTTP/1.1 ")
        and data.endswith(b"\r\n\r\n")
        and b"\r\ncontent-length: " in data
    )
