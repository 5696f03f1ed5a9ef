"""uvicorn's request-response cycle (httptools), with two savings on every response:

- **A response's head leaves with its body**, in one write: one system call and one TCP
  segment per small answer instead of two. Only a head that declares a ``Content-Length``
  waits, and only for the body that must follow it; any other head (a stream's, a HEAD's,
  a 304's) goes at once.
- **Each header line is checked once per process**, not once per response. uvicorn refuses
  a header whose name or value could split the response (two regular expressions per
  header); answers repeat the same few dozen headers, so a pair that passed is remembered
  with its rendered line.

Everything else is uvicorn's :class:`RequestResponseCycle.send` as of uvicorn 0.54, unchanged
in behaviour: the same refusals (its own regular expressions, from the installed uvicorn),
the same ``Content-Length`` accounting, ``connection: close`` and chunked encoding; a
uvicorn upgrade that changes its ``send`` should be read against this one. :mod:`.bounded` puts it in place of uvicorn's own when a request's head
is complete, before the request's task first runs. Its state is uvicorn's own, so a response
begun by uvicorn's ``send`` would still be finished correctly by this one.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

JOIN_UP_TO = 64 * 1024  # a larger body goes in its own write, not copied after its head
LINES_KEPT = 4096  # checked header lines remembered; past that, forgotten all at once

# (name, value) -> (the lowercased name when uvicorn acts on it, else None; the line)
_checked_lines: dict[tuple[bytes, bytes], tuple[bytes | None, bytes]] = {}
_ACTED_ON = frozenset({b"content-length", b"transfer-encoding", b"connection"})


def header_line(name: bytes, value: bytes) -> tuple[bytes | None, bytes]:
    """``(lowercased name if it is one uvicorn acts on, b"name: value\\r\\n")``, refusing a
    name or value uvicorn refuses; remembered once checked, except a cookie."""
    if HEADER_RE.search(name):
        raise RuntimeError("Invalid HTTP header name.")
    if HEADER_VALUE_RE.search(value):
        raise RuntimeError("Invalid HTTP header value.")
    lowered = name.lower()
    line = (lowered if lowered in _ACTED_ON else None, lowered + b": " + value + b"\r\n")
    if lowered != b"set-cookie":  # a cookie is new each time and may hold a session's secret
        if len(_checked_lines) >= LINES_KEPT:
            _checked_lines.clear()
        _checked_lines[(name, value)] = line
    return line


class ResponseCycle(RequestResponseCycle):
    """One request and its response on a connection (see the module's docstring)."""

    _head: bytes | None = None  # a head waiting for its body

    async def send(self, message: Any) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        kind = message["type"]
        if not self.response_started:
            if kind != "http.response.start":
                raise RuntimeError(
                    f"Expected ASGI message 'http.response.start', but got '{kind}'."
                )
            self._start(message)
        elif not self.response_complete:
            if kind != "http.response.body":
                raise RuntimeError(f"Expected ASGI message 'http.response.body', but got '{kind}'.")
            self._body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(
                f"Unexpected ASGI message '{kind}' sent, after response already completed."
            )

    def _start(self, message: Any) -> None:
        self.response_started = True
        self.waiting_for_100_continue = False
        status = message["status"]
        method = self.scope["method"]
        if self.access_log:
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(self.scope),
                method,
                get_path_with_query_string(self.scope),
                self.scope["http_version"],
                status,
            )
        content = [STATUS_LINE[status]]
        says_close = False
        for headers in (self.default_headers, message.get("headers", ())):
            for name, value in headers:
                try:
                    acted_on, line = _checked_lines.get((name, value)) or header_line(name, value)
                except TypeError:  # a bytearray (ASGI allows any bytes-like): checked as bytes
                    acted_on, line = header_line(bytes(name), bytes(value))
                content.append(line)
                if acted_on is None:
                    continue
                if acted_on == b"content-length":
                    if self.chunked_encoding is None:
                        self.expected_content_length = int(value.decode())
                        self.chunked_encoding = False
                elif acted_on == b"transfer-encoding":
                    if value.lower() == b"chunked":
                        self.expected_content_length = 0
                        self.chunked_encoding = True
                elif b"close" in [token.lower().strip() for token in value.split(b",")]:
                    self.keep_alive = False
                    says_close = True
        if not self.keep_alive and not says_close:
            content.append(b"connection: close\r\n")
        if self.chunked_encoding is None and method != "HEAD" and status not in (204, 304):
            self.chunked_encoding = True  # neither a length nor an encoding: chunks
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        head = b"".join(content)
        if self.chunked_encoding is False and method != "HEAD":
            self._head = head  # its body must follow: they leave together
        else:
            self.transport.write(head)

    def _body(self, body: bytes, more_body: bool) -> None:
        if self.scope["method"] == "HEAD":
            self.expected_content_length = 0
        elif self.chunked_encoding:
            content = [b"%x\r\n" % len(body), body, b"\r\n"] if body else []
            if not more_body:
                content.append(b"0\r\n\r\n")
            self.transport.write(b"".join(content))
        else:
            if len(body) > self.expected_content_length:
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_content_length -= len(body)
            head, self._head = self._head, None
            if head is not None:
                if len(body) <= JOIN_UP_TO:
                    body = head + body
                else:
                    self.transport.write(head)
            self.transport.write(body)
        if not more_body:
            if self.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.message_event.set()
            if not self.keep_alive:
                self.transport.close()
            self.on_response()
