"""The serving path's own parts: the audit line built by hand, the server's response cycle
(a head leaves with its body; each header line checked once), and the gathered audit lines
written by ``serve`` at a stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from uvicorn.server import ServerState

from atom_health.checks.configuration import VariableWatch
from atom_health.config.security import SecuritySettings
from atom_health.model.audit import AuditRecord
from atom_health.serving import ThreadedServer, bounded_server_options, cycle
from atom_health.simulator import Simulator
from atom_health.web.audit import audit_line
from atom_health.web.hardening import HardeningMiddleware
from atom_health.web.rate_limit import PRUNE_FROM, InboundLimiter, LocalWindows
from tests.served import served

AWKWARD_PATHS = [
    "/api/stripe/health",
    '/api/"quoted"/health',
    "/api/back\\slash",
    "/api/tab\tand\x00nul\x1f\x7f",
    "/api/é/€/\u2028/😀",
    "/api/%22escaped%22",
    "",
]


@pytest.mark.parametrize("path", AWKWARD_PATHS)
def test_an_audit_line_is_one_line_of_json_for_any_path(path: str) -> None:
    at = 1_764_513_124.279034
    entry = AuditRecord(at, 'key "x"', None, "::1", "GET", path, 200, 1.614)
    line = audit_line(entry)

    assert "\n" not in line
    assert "\r" not in line
    assert json.loads(line) == {
        "time": json.loads(line)["time"],
        "key": 'key "x"',
        "role": None,
        "client": "::1",
        "method": "GET",
        "path": path,
        "status": 200,
        "duration_ms": 1.614,
    }
    written = datetime.fromisoformat(json.loads(line)["time"])
    assert str(written.tzinfo) == "UTC"
    assert abs(written.timestamp() - at) < 2e-6


def test_an_audit_line_at_a_whole_second_keeps_its_fraction() -> None:
    line = json.loads(audit_line(AuditRecord(1_764_513_124.0, "k", "read", "c", "GET", "/", 1, 0)))
    assert line["time"] == "2025-11-30T14:32:04.000000+00:00"
    assert line["role"] == "read"
    assert line["duration_ms"] == 0.0


async def slow_stream(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        await asyncio.sleep(3)
        yield b"late"

    return StreamingResponse(chunks(), media_type="text/plain")


async def small(request: Request) -> PlainTextResponse:
    return PlainTextResponse("small answer")


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(await request.body())


async def not_modified(request: Request) -> Response:
    return Response(status_code=304, headers={"etag": '"x"', "content-length": "0"})


LARGE = bytes(range(256)) * 400  # 100 KiB: past what is joined to its head


async def large(request: Request) -> Response:
    return Response(LARGE, media_type="application/octet-stream")


async def split(request: Request) -> Response:
    """A header value that would split the response: the app's bug, never the client's."""
    response = PlainTextResponse("split")
    response.raw_headers.append((b"x-note", request.query_params["note"].encode()))
    return response


async def built(request: Request) -> Response:
    response = PlainTextResponse("built")
    response.raw_headers.append((b"x-built", bytearray(b"in pieces")))
    return response


async def overlong(request: Request) -> Response:
    response = Response(b"0123456789")
    response.raw_headers = [(b"content-length", b"5")]
    return response


@pytest.fixture(scope="module")
def bounded() -> Iterator[ThreadedServer]:
    """A server with the protocol ``serve`` uses (bounded heads, one write per answer)."""
    app = Starlette(
        routes=[
            Route("/stream", slow_stream),
            Route("/small", small, methods=["GET", "HEAD"]),
            Route("/echo", echo, methods=["POST"]),
            Route("/not-modified", not_modified),
            Route("/large", large),
            Route("/split", split),
            Route("/overlong", overlong),
            Route("/built", built),
        ]
    )
    with ThreadedServer(app, **bounded_server_options(SecuritySettings())) as server:
        yield server


def read_until(connection: socket.socket, marker: bytes, seconds: float) -> bytes:
    connection.settimeout(seconds)
    received = b""
    while marker not in received:
        chunk = connection.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def test_a_head_whose_body_comes_later_is_sent_at_once(bounded: ThreadedServer) -> None:
    """The transport holds only a head that declares a length: a stream's head arrives
    before its first chunk, which comes 3 s later."""
    with socket.create_connection((bounded.host, bounded.port)) as connection:
        connection.sendall(b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        started = time.monotonic()
        head = read_until(connection, b"\r\n\r\n", seconds=5)
        head_after = time.monotonic() - started
        rest = read_until(connection, b"late", seconds=5)

    assert head.startswith(b"HTTP/1.1 200")
    assert b"late" not in head
    assert head_after < 2.0, f"the head waited {head_after:.2f} s for the body"
    assert b"late" in rest


@pytest.mark.parametrize(
    ("request_line", "status"),
    [(b"HEAD /small", b"200"), (b"GET /not-modified", b"304")],
)
def test_a_head_without_a_body_is_sent_when_the_response_ends(
    bounded: ThreadedServer, request_line: bytes, status: bytes
) -> None:
    """A head that declares a length waits for its body; a HEAD or a 304 has none, and its
    head must still go out (and the connection serve the next request)."""
    with socket.create_connection((bounded.host, bounded.port)) as connection:
        connection.sendall(request_line + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = read_until(connection, b"\r\n\r\n", seconds=2)
        connection.sendall(b"GET /small HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        after = read_until(connection, b"small answer", seconds=2)

    assert head.startswith(b"HTTP/1.1 " + status)
    assert head.endswith(b"\r\n\r\n"), "the head came with a body"
    assert after.startswith(b"HTTP/1.1 200")
    assert after.endswith(b"small answer")


def test_an_interim_continue_is_sent_before_the_body_it_asks_for(bounded: ThreadedServer) -> None:
    with socket.create_connection((bounded.host, bounded.port)) as connection:
        connection.sendall(
            b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
            b"Content-Length: 5\r\n\r\n"
        )
        interim = read_until(connection, b"\r\n\r\n", seconds=2)
        connection.sendall(b"hello")
        answer = read_until(connection, b"hello", seconds=2)

    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"hello")


def test_answers_on_a_kept_alive_connection_arrive_whole_and_in_order(
    bounded: ThreadedServer,
) -> None:
    with httpx.Client(base_url=bounded.url) as client:
        for _ in range(50):
            answer = client.get("/small")
            assert (answer.status_code, answer.text) == (200, "small answer")
        assert client.get("/stream").text == "late"
        assert client.get("/small").text == "small answer"


def test_a_large_body_arrives_whole_after_its_head(bounded: ThreadedServer) -> None:
    answer = httpx.get(bounded.url + "/large")
    assert answer.headers["content-length"] == str(len(LARGE))
    assert answer.content == LARGE


def test_a_header_that_would_split_the_response_is_refused_every_time(
    bounded: ThreadedServer,
) -> None:
    """Header lines are checked once and remembered: a good value must not vouch for a bad
    one with the same name, nor a bad one pass the second time."""
    for note in ("fine", "also fine", "fine"):
        good = httpx.get(bounded.url + "/split", params={"note": note})
        assert (good.status_code, good.headers["x-note"]) == (200, note)
    for _ in range(2):
        with socket.create_connection((bounded.host, bounded.port)) as connection:
            connection.sendall(
                b"GET /split?note=fine%0D%0Aset-cookie:%20stolen=1 HTTP/1.1\r\n"
                b"Host: 127.0.0.1\r\n\r\n"
            )
            received = read_until(connection, b"stolen", seconds=2)
        assert b"stolen" not in received
        assert b"set-cookie" not in received.lower()


def test_a_header_value_built_in_a_bytearray_is_sent(bounded: ThreadedServer) -> None:
    for _ in range(2):
        answer = httpx.get(bounded.url + "/built")
        assert (answer.text, answer.headers["x-built"]) == ("built", "in pieces")


def test_a_body_longer_than_its_declared_length_is_never_sent(bounded: ThreadedServer) -> None:
    with socket.create_connection((bounded.host, bounded.port)) as connection:
        connection.sendall(b"GET /overlong HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = read_until(connection, b"56789", seconds=2)
    assert b"56789" not in received


def test_checked_header_lines_are_remembered_up_to_a_bound() -> None:
    cycle._checked_lines.clear()
    for number in range(cycle.LINES_KEPT + 10):
        assert cycle.header_line(b"ETag", b'"%d"' % number) == (None, b'etag: "%d"\r\n' % number)
    assert 0 < len(cycle._checked_lines) <= cycle.LINES_KEPT
    assert cycle.header_line(b"Content-Length", b"12") == (
        b"content-length",
        b"content-length: 12\r\n",
    )
    cookie = (b"set-cookie", b"session=secret-value; HttpOnly")
    assert cycle.header_line(*cookie)[1] == b"set-cookie: session=secret-value; HttpOnly\r\n"
    assert cookie not in cycle._checked_lines, "a session's cookie stays in memory"
    with pytest.raises(RuntimeError, match="header value"):
        cycle.header_line(b"x-note", b"a\nb")
    with pytest.raises(RuntimeError, match="header name"):
        cycle.header_line(b"x note", b"a")


class RecordedTransport(asyncio.Transport):
    """What a connection's protocol writes, one entry per write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def test_an_answer_of_declared_length_leaves_in_one_write() -> None:
    """Head and body in one write, so one TCP segment; a HEAD's head alone, at once."""
    app = Starlette(routes=[Route("/small", small, methods=["GET", "HEAD"])])
    protocol_class = bounded_server_options(SecuritySettings())["http"]
    config = uvicorn.Config(app, http=protocol_class, log_level="warning")
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = RecordedTransport()
    protocol.connection_made(transport)
    try:
        for request, expected_body in ((b"GET", b"small answer"), (b"HEAD", b"")):
            transport.writes.clear()
            protocol.data_received(request + b" /small HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            for _ in range(100):
                if transport.writes:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)  # nothing more follows
            assert len(transport.writes) == 1, transport.writes
            head, _, body = transport.writes[0].partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b"\r\ncontent-length: 12" in head
            assert body == expected_body
    finally:
        protocol.connection_lost(None)


def test_audit_lines_gathered_at_a_stop_are_written(tmp_path: Path, simulator: Simulator) -> None:
    """Lines are handed to the writer in batches; a stop (SIGTERM) writes what is left."""
    env = {**os.environ, **simulator.environment()}
    with served(tmp_path, env) as server:
        with httpx.Client(base_url=server.url) as client:
            for number in range(20):
                assert client.get(f"/api/audit-probe-{number}").status_code == 404
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(15) == 0
        lines = [json.loads(line) for line in server.text().splitlines() if '"path":' in line]

    paths = [line["path"] for line in lines]
    assert paths == [f"/api/audit-probe-{number}" for number in range(20)]
    assert {line["status"] for line in lines} == {404}


def test_host_verdicts_hold_past_the_remembered_few() -> None:
    """Verdicts are remembered for a few Host values; past that, each is still decided."""
    hardening = HardeningMiddleware(Starlette(), SecuritySettings())
    loopback = {"server": ("127.0.0.1", 8000)}
    elsewhere = {"server": ("10.0.0.5", 8000)}
    for number in range(300):
        assert not hardening.host_allowed(loopback, b"rebind-%d.example" % number)
    assert not hardening.host_allowed(loopback, b"rebind-299.example")
    assert not hardening.host_allowed(loopback, None)
    assert hardening.host_allowed(loopback, b"localhost:8000")
    assert hardening.host_allowed(loopback, b"[::1]:8000")
    assert hardening.host_allowed(elsewhere, b"rebind-1.example")  # not served on loopback


def test_local_windows_count_per_key_and_reopen_when_over() -> None:
    windows = LocalWindows()
    assert windows.hit("a", 60, now=1000.0) == (1, 1060.0)
    assert windows.hit("a", 60, now=1030.0) == (2, 1060.0)
    assert windows.hit("b", 60, now=1030.0) == (1, 1090.0)
    assert windows.hit("a", 60, now=1060.0) == (1, 1120.0)  # the first window has ended


def test_local_windows_forget_ended_windows_but_keep_open_ones() -> None:
    windows = LocalWindows()
    for number in range(PRUNE_FROM):
        windows.hit(f"gone-{number}", 1, now=0.0)
    assert len(windows._windows) == PRUNE_FROM
    windows.hit("open", 60, now=1.5)  # past PRUNE_FROM: the ended windows are dropped
    assert len(windows._windows) == 1
    assert windows.hit("open", 60, now=2.0) == (2, 61.5)


async def test_the_limiter_refuses_past_the_limit_with_the_wait() -> None:
    limiter = InboundLimiter("3/minute;5/hour", "memory://")
    assert [await limiter.check("addr:a") for _ in range(3)] == [None, None, None]
    wait = await limiter.check("addr:a")
    assert wait is not None
    assert 59 <= wait <= 60
    assert await limiter.check("addr:b") is None  # each client counts alone


@pytest.mark.parametrize("watched", [("W_A", "W_B", "W_C"), ("W_A",), ("W_C",)])
def test_a_variable_watch_notices_every_change_of_the_process_environment(
    monkeypatch: pytest.MonkeyPatch, watched: tuple[str, ...]
) -> None:
    """Cached answers ask the watch on every request; it must miss no set, change or clear
    (W_A and W_B start set, W_C unset), and move for nothing else."""
    monkeypatch.setenv("W_A", "a")
    monkeypatch.setenv("W_B", "b")
    monkeypatch.delenv("W_C", raising=False)
    watch = VariableWatch(os.environ, watched)
    last = [watch.signature()]

    def changed() -> bool:
        last.append(watch.signature())
        return last[-1] != last[-2]

    monkeypatch.setenv("W_UNWATCHED", "x")
    assert not changed()
    for name in watched:
        monkeypatch.setenv(name, "new")
        assert changed(), f"{name} set to a new value"
        monkeypatch.setenv(name, "new")
        assert not changed(), "the same value set again is no change"
        monkeypatch.delenv(name)
        assert changed(), f"{name} cleared"
        monkeypatch.setenv(name, "back")
        assert changed(), f"{name} set again"


def test_a_variable_watch_reads_any_mapping() -> None:
    environ = {"W_A": "a"}
    watch = VariableWatch(environ, ("W_A", "W_B"))
    before = watch.signature()
    environ["W_B"] = "b"
    assert watch.signature() != before


def test_a_variable_watch_never_shows_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """It holds the values it compares (os.environ's own bytes); its reprs, which a
    traceback with locals would print, hold none."""
    monkeypatch.setenv("W_SECRET", "sk_live_never-shown-0123456789")
    watch = VariableWatch(os.environ, ("W_SECRET", "W_UNSET"))
    watch.signature()
    shown = repr(watch) + repr(watch._last) + str(watch._last)
    assert "never-shown" not in shown
