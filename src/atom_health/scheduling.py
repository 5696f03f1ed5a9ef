"""The scheduler: check every integration at its interval, spread out, forever.

Each integration is due every ``interval`` seconds (its own, or the default), first at
a random point of a short initial spread so checks do not bunch up; due times advance
by the interval, so there is no drift. Checks go through the monitor (its concurrency
limit and each provider's rate budget apply). A failing check is logged and never stops
the loop. Configuration changes (a variable becoming missing or present) are reported
as events, by name.

With a ``sharing`` (replicas cooperating through Redis, :mod:`atom_health.cluster`), the
fleet hands each due check to one replica, which runs it through :meth:`Scheduler.run_check`;
this loop keeps its due times but runs nothing itself until the fleet cannot (Redis away).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from atom_health.model.history import ConfigEvent
from atom_health.monitor import HealthMonitor, UnknownIntegrationError

log = logging.getLogger(__name__)


class ConfigurationWatcher:
    """Remembers which variables each integration had, and reports changes."""

    def __init__(self) -> None:
        self._present: dict[str, set[str]] = {}
        self._fingerprints: dict[str, Mapping[str, str]] = {}

    def observe(
        self,
        integration: str,
        required: Sequence[str],
        present: Sequence[str],
        at: float,
        fingerprints: Mapping[str, str] | None = None,
    ) -> list[ConfigEvent]:
        """Events for required variables that went missing or came back, and ``changed``
        for any variable whose value changed (told by its fingerprint, never its value)."""
        now_present = set(present)
        before = self._present.get(integration)
        self._present[integration] = now_present
        old_prints = self._fingerprints.get(integration, {})
        new_prints = fingerprints or {}
        self._fingerprints[integration] = new_prints
        if before is None:
            return []
        events = [
            ConfigEvent(integration, at, name, "present" if name in now_present else "missing")
            for name in required
            if (name in now_present) != (name in before)
        ]
        events += [
            ConfigEvent(integration, at, name, "changed")
            for name, mark in new_prints.items()
            if name in old_prints and old_prints[name] != mark
        ]
        return events


class WorkSharing(Protocol):
    """Hands due checks out across a fleet of replicas (see :mod:`atom_health.cluster`)."""

    @property
    def active(self) -> bool:
        """True while the fleet hands checks out; false while this replica must work alone."""

    def start(self, run: Callable[[str], Awaitable[None]]) -> None:
        """Start taking this replica's share of the checks, running each with ``run(name)``."""

    async def stop(self) -> None: ...


class Scheduler:
    def __init__(
        self,
        monitor: HealthMonitor,
        default_interval: float,
        intervals: Mapping[str, float],
        on_config_events: Callable[[list[ConfigEvent]], None] | None = None,
        initial_spread: float = 5.0,
        sharing: WorkSharing | None = None,
    ) -> None:
        self.monitor = monitor
        self.default_interval = default_interval
        self.intervals = intervals
        self.on_config_events = on_config_events
        self.initial_spread = initial_spread
        self.sharing = sharing
        self.watcher = ConfigurationWatcher()
        self.lag_seconds = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._due: dict[str, float] = {}
        self._catalog_changed = asyncio.Event()

    def interval(self, integration: str) -> float:
        return self.intervals.get(integration, self.default_interval)

    @property
    def running(self) -> bool:
        return self._runner is not None and not self._runner.done()

    def follow_catalog(self, intervals: Mapping[str, float] | None = None) -> None:
        """Schedule what the catalog holds now (an integration enabled, disabled, added or
        removed at run time); ``intervals`` replaces the per-integration intervals."""
        if intervals is not None:
            self.intervals = intervals
        self._catalog_changed.set()

    def _sync_due(self, now: float) -> None:
        wanted = {i.id for i in self.monitor.catalog}
        for name in set(self._due) - wanted:
            del self._due[name]
        for name in wanted - set(self._due):
            self._due[name] = now  # a newly enabled integration is checked at once

    def overdue_seconds(self) -> float:
        """How long the most overdue check has waited past its due time (0 when none)."""
        if not self._due:
            return 0.0
        return max(0.0, asyncio.get_running_loop().time() - min(self._due.values()))

    def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="atom-health-scheduler")
            if self.sharing is not None:
                self.sharing.start(self.run_check)

    async def stop(self) -> None:
        """Stop scheduling; checks in flight are cancelled."""
        if self.sharing is not None:
            await self.sharing.stop()
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        due = self._due = {
            i.id: start + random.uniform(0, min(self.initial_spread, self.interval(i.id)))
            for i in self.monitor.catalog
        }
        while True:
            now = loop.time()
            ready = [name for name, at in due.items() if at <= now]
            for name in ready:
                self.lag_seconds = now - due[name]
                interval = self.interval(name)
                due[name] += interval
                if due[name] <= now:  # fell far behind (e.g. a suspended process): skip ahead
                    due[name] = now + interval
                if self.sharing is not None and self.sharing.active:
                    continue  # the fleet hands this check to one replica
                task = asyncio.create_task(self.run_check(name))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            wait = max(0.0, min(due.values(), default=now + 1.0) - loop.time())
            try:
                await asyncio.wait_for(self._catalog_changed.wait(), wait)
            except TimeoutError:
                continue
            self._catalog_changed.clear()
            self._sync_due(loop.time())

    async def run_check(self, name: str) -> None:
        try:
            integration = self.monitor.resolve(name)
            configuration = self.monitor.configuration(integration)
            events = self.watcher.observe(
                name,
                configuration.required_env_vars,
                configuration.present_env_vars,
                time.time(),
                configuration.fingerprints,
            )
            if events and self.on_config_events is not None:
                self.on_config_events(events)
            await self.monitor.check(name, refresh=True, scheduled=True)
        except asyncio.CancelledError:
            raise
        except UnknownIntegrationError:  # removed by a reload since it fell due
            return
        except Exception as exc:  # one failing check never stops the others
            log.error("scheduled check of %s failed: %s", name, type(exc).__name__)
