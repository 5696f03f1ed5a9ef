"""Synchronous checks for scripts, jobs and sync web views (Flask, Django), on the async engine.

    from atom_health import check_integration_health, check_all_integrations_health

    result = check_integration_health("zoom")      # ServiceHealth, cached like the API
    if result.status != "healthy":
        print(result.message)
    overview = check_all_integrations_health()    # Overview of every enabled integration

One engine (a :class:`~atom_health.monitor.HealthMonitor` with its result cache, single
flight and connection pool) runs on a private event-loop thread for the whole process, so
repeated calls share cached results and connections, and the functions work the same from
plain Python, from threads, and from a Flask view. Do not call them from inside a running
event loop's own thread (a coroutine): use ``await HealthMonitor.check(...)`` there instead.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from atom_health.config import load_settings
from atom_health.model.results import Overview, ServiceHealth
from atom_health.monitor import HealthMonitor
from atom_health.system import build_monitor

T = TypeVar("T")


class _Engine:
    """A monitor on its own daemon event-loop thread; calls are submitted to it."""

    def __init__(self, monitor: HealthMonitor) -> None:
        self.monitor = monitor  # its HTTP session opens on first use, inside the loop
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="atom-health-sync", daemon=True
        )
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        if _in_loop_thread(self.loop):
            raise RuntimeError("atom-health's synchronous API cannot run on its own loop")
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def close(self) -> None:
        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(self.monitor.aclose(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


def _in_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


_engine: _Engine | None = None
_lock = threading.Lock()


def configure(config: str | Path | None = None, environ: Mapping[str, str] = os.environ) -> None:
    """Use this config file and environment for later calls (default: ``$ATOM_HEALTH_CONFIG``
    and the process environment, read at the first call). Replaces the running engine."""
    global _engine
    settings = load_settings(config, environ)
    with _lock:
        previous, _engine = _engine, _Engine(build_monitor(settings, environ))
    if previous is not None:
        previous.close()


def _current() -> _Engine:
    global _engine
    with _lock:
        if _engine is None:
            _engine = _Engine(build_monitor(load_settings()))
        return _engine


def check_integration_health(
    name: str, *, check_api: bool = True, refresh: bool = False
) -> ServiceHealth:
    """One integration's health, as ``GET /api/{name}/health`` answers it.

    Raises :class:`~atom_health.UnknownIntegrationError` for a name the catalog does not know.
    """
    engine = _current()
    return engine.run(engine.monitor.check(name, check_api=check_api, refresh=refresh))


def check_all_integrations_health(*, check_api: bool = True, refresh: bool = False) -> Overview:
    """Every enabled integration, as ``GET /api/integrations/health`` answers (no history)."""
    engine = _current()
    return engine.run(engine.monitor.overview(check_api=check_api, refresh=refresh))


@atexit.register
def _close() -> None:
    if _engine is not None:
        _engine.close()
