"""Run a whole system in the foreground: serve, first round of checks, clean stop.

Used by ``atom-health serve``, ``system`` and ``demo``. A SIGTERM or Ctrl-C is a requested
stop: checks in flight are cancelled, queued results are written, the store is closed,
and the process exits 0. A SIGHUP reloads the config file.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TextIO

import uvicorn

from atom_health.config import ConfigError
from atom_health.management import NoConfigFileError
from atom_health.model.audit import AuditRecord
from atom_health.model.results import Overview
from atom_health.serving import bounded_server_options
from atom_health.system import HealthSystem
from atom_health.web.audit import AUDIT_LOGGER, AuditTrail
from atom_health.web.manage import RELOAD_PATH

log = logging.getLogger(__name__)

AUDIT_WRITE_EVERY = 0.05  # seconds: audit lines reach stderr this much later at most
GIL_SWITCH_SECONDS = 0.001
GRACEFUL_SHUTDOWN_SECONDS = 5  # open dashboards keep event streams; a stop waits no longer


class _Server(uvicorn.Server):
    """uvicorn re-raises the signal after a graceful stop; a requested stop exits 0 instead."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop now
        else:
            self.should_exit = True


class StartError(Exception):
    """The server could not start (the port is taken, say)."""


def serve_system(
    system: HealthSystem,
    host: str,
    port: int,
    *,
    ready: Callable[[str, Overview], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve until stopped. Once listening, run a first round and call ``ready(url, overview)``."""
    app = system.web_app()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level in ("debug", "trace", "info"),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,  # no "server: uvicorn": nothing to tell a scanner
        **bounded_server_options(system.settings.security),
    )
    server = _Server(config)
    try:  # bind first: a taken port is a clear error, not uvicorn's exit from inside the loop
        listener = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        raise StartError(f"could not listen on {host}:{port} ({exc.strerror})") from None
    # Connections inherit this: without it, Nagle's algorithm and delayed ACKs add ~40 ms to
    # small answers (seen as 44 ms per request in bench_configuration).
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def main() -> None:
        # Caught from the start (SIGHUP's default is to end the process); handled once started.
        reloads = SighupReloads(system)
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started:
            if serving.done():
                reloads.close()
                await serving
                raise StartError(f"could not start on {host}:{port}")
            await asyncio.sleep(0.02)
        # Everything built at start lives as long as the process: out of the collector's
        # sight, a full collection stops the event loop for ~1 ms instead of ~60 ms.
        gc.freeze()
        # A thread (the recorder, a history query) holds the GIL for up to this long while
        # the event loop waits for it: 1 ms instead of Python's 5 keeps the loop's worst
        # delay under load below 10 ms (bench_serving).
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        reloads.started.set()
        if ready is not None and not server.should_exit:
            # A replica joining a fleet shows the fleet's fresh results, not a check of its own.
            overview = await system.monitor.overview(refresh=system.fleet is None)
            ready(f"http://{host}:{port}/", overview)
        try:
            await serving
        finally:
            reloads.close()

    # uvicorn's choice of event loop (uvloop where installed, as ``uvicorn.run`` would).
    with (
        listener,
        audit_lines_on_stderr(app.state.access.audit),
        asyncio.Runner(loop_factory=config.get_loop_factory()) as runner,
    ):
        runner.run(main())


class SighupReloads:
    """SIGHUP reloads the config file (like ``POST /api/manage/config/reload``); a bad file
    is logged and the running config kept. Each reload is written to the audit trail."""

    def __init__(self, system: HealthSystem) -> None:
        self.system = system
        self.loop = asyncio.get_running_loop()
        self.tasks: set[asyncio.Task[None]] = set()
        self.started = asyncio.Event()  # a SIGHUP before then waits for it
        self.loop.add_signal_handler(signal.SIGHUP, self._start)

    def _start(self) -> None:
        task = self.loop.create_task(self._reload())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _reload(self) -> None:
        await self.started.wait()
        started = time.perf_counter()
        status = 200
        try:
            diff = await self.system.management.reload()
            log.info(
                "SIGHUP: config reloaded: %d added, %d removed, %d changed; settings: %s",
                len(diff.added),
                len(diff.removed),
                len(diff.changed),
                ", ".join(diff.settings_changed) or "none",
            )
        except (ConfigError, NoConfigFileError) as exc:
            status = 422 if isinstance(exc, ConfigError) else 409
            log.error("SIGHUP: config not reloaded: %s; the running config is kept", exc)
        except Exception as exc:  # a reload must never stop the server
            status = 500
            log.error("SIGHUP: config reload failed: %s", type(exc).__name__)
        record = AuditRecord(
            at=time.time(),
            key="SIGHUP",
            role=None,
            client="signal",
            method="SIGHUP",
            path=RELOAD_PATH,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        try:
            await asyncio.to_thread(self.system.store.add_audit, record)
        except Exception as exc:
            log.error("could not store an audit record: %s", type(exc).__name__)

    def close(self) -> None:
        self.loop.remove_signal_handler(signal.SIGHUP)
        for task in self.tasks:
            task.cancel()


@contextlib.contextmanager
def audit_lines_on_stderr(trail: AuditTrail) -> Iterator[None]:
    """The audit trail's JSON lines on stderr, unless the host already handles its logger.

    The event loop only gathers lines (no log record per request) and hands them over as
    one text every :data:`AUDIT_WRITE_EVERY` seconds; a thread writes each text, so a slow
    reader of stderr (a full pipe, a busy log collector) never holds up a request."""
    if not trail.writes_lines or logging.getLogger(AUDIT_LOGGER).handlers:
        yield
        return
    lines = _BatchedLines()
    writer = threading.Thread(
        target=lines.write_forever, args=(sys.stderr,), name="atom-health-audit", daemon=True
    )
    trail.write_lines_to(lines.add)
    writer.start()
    try:
        yield
    finally:
        lines.close()
        writer.join(5.0)  # after writing every line still gathered


class _BatchedLines:
    """Lines gathered in the event loop, written by :meth:`write_forever` in one write per
    batch. The thread takes the GIL once per batch, not once per line: a writer thread
    that woke per line, or walked a queue line by line, cost the loop a tenth of its
    requests under load (measured with ``bench_serving``)."""

    def __init__(self) -> None:
        self._texts: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._pending: list[str] = []

    def add(self, line: str) -> None:
        """Called in the event loop with each line."""
        if not self._pending:
            try:
                asyncio.get_running_loop().call_later(AUDIT_WRITE_EVERY, self._hand_over)
            except RuntimeError:  # no loop here: hand it over at once
                self._texts.put(f"{line}\n")
                return
        self._pending.append(line)

    def _hand_over(self) -> None:
        if self._pending:
            self._texts.put("\n".join(self._pending) + "\n")
            self._pending = []

    def close(self) -> None:
        """Hand over what is left (the loop has stopped) and end :meth:`write_forever`."""
        self._hand_over()
        self._texts.put(None)

    def write_forever(self, stream: TextIO) -> None:
        while (text := self._texts.get()) is not None:
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError):  # stderr closed: nothing to write to
                pass
