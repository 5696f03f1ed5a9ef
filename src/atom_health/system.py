"""The composition root: the one place that builds and wires every part of atom-health.

The monitor (engine), its history (store + recorder), the sinks (live events, metrics),
alerting, the scheduler and store maintenance are built here, started and stopped together
(by the web app's lifespan); :meth:`HealthSystem.web_app` builds the app that serves them.
Nothing else constructs these parts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from fastapi import FastAPI

from atom_health.alerting.manager import AlertManager
from atom_health.config import ConfigError, Settings
from atom_health.config.installation_key import installation_key
from atom_health.history import rollups
from atom_health.history.recent import RecentHistory
from atom_health.history.recorder import Recorder
from atom_health.management import Management, intervals_of
from atom_health.model.history import ConfigEvent
from atom_health.monitor import HealthMonitor
from atom_health.scheduling import Scheduler
from atom_health.services import log_redaction, tracing
from atom_health.sinks.live import LiveUpdates
from atom_health.sinks.metrics import HealthMetrics
from atom_health.store import Store, open_store
from atom_health.web.app import create_app

if TYPE_CHECKING:
    from atom_health.cluster import Fleet

log = logging.getLogger(__name__)

RELOAD_DELAY_SECONDS = 15.0


def build_monitor(settings: Settings, environ: Mapping[str, str] = os.environ) -> HealthMonitor:
    """The engine alone, for one-shot checks (``atom-health health``): no store, no scheduler."""
    log_redaction.install()
    tracing.configure(environ)
    return HealthMonitor.from_settings(settings, environ)


def open_fleet(url: str, settings: Settings, intervals: Mapping[str, float] | None) -> Fleet:
    """Replicas cooperating through the Redis at ``url`` (needs the ``redis`` extra)."""
    try:
        from atom_health.cluster import Fleet
    except ImportError:
        raise ConfigError(
            "redis_url is set but redis-py is not installed: pip install 'atom-health[redis]'"
        ) from None
    try:
        return Fleet(url, settings, intervals)
    except ValueError:  # never echo the URL: it may carry a password
        raise ConfigError("redis_url: not a Redis URL (redis://, rediss:// or unix://)") from None


class HealthSystem:
    def __init__(
        self,
        settings: Settings,
        environ: Mapping[str, str] = os.environ,
        *,
        monitor: HealthMonitor | None = None,
        store: Store | None = None,
        scheduler: bool | None = None,
    ) -> None:
        log_redaction.install()  # before anything can log a URL or a header
        self.settings = settings
        self.environ = environ
        tracing.configure(environ)  # OTLP export when an endpoint is set (the [otel] extra)
        self.monitor = monitor or HealthMonitor.from_settings(settings, environ)
        unknown = [n for n in settings.status_page.integrations if not self.monitor.catalog.get(n)]
        if unknown:
            raise ConfigError(
                f"{settings.source}: status_page.integrations: unknown or disabled integration "
                f"{', '.join(unknown)}"
            )
        self.database_url = settings.history.database_url
        self.store = store or open_store(self.database_url)
        # The fingerprint key lives beside the database this system opened (or in settings).
        self.monitor.fingerprint_key = installation_key(
            settings, self.database_url if store is None else "memory://"
        )
        self.recorder = Recorder(self.store)
        self.recent = RecentHistory(self.store, [i.id for i in self.monitor.catalog])
        self.metrics = HealthMetrics(self.monitor.catalog)
        self.live = LiveUpdates(self.monitor)
        subscribers = (self.recorder.record, self.recent.observe, self.metrics.observe)
        for subscriber in (*subscribers, self.live.publish):
            self.monitor.subscribe(subscriber)
        self.alerts = (
            AlertManager(
                settings.alerting,
                self.monitor.catalog,
                self.store,
                environ,
                on_dropped=self.metrics.count_dropped,
            )
            if settings.alerting.enabled
            else None
        )
        if self.alerts is not None:
            self.monitor.subscribe(self.alerts.on_result)
        self.management = Management(
            settings, environ, self.monitor, self.store, self.alerts, self.live.announce
        )
        self.management.load_overrides()  # integrations switched off at run time stay off
        self.management.catalog_followers.append(self.metrics.follow_catalog)
        enabled = settings.scheduler.enabled if scheduler is None else scheduler
        intervals = {
            i.id: i.interval_seconds or settings.scheduler.interval_seconds
            for i in self.monitor.catalog
        }
        self.redis_url = settings.redis_url
        self.fleet = (
            open_fleet(self.redis_url, settings, intervals if enabled else None)
            if self.redis_url
            else None
        )
        if self.fleet is not None:
            self.monitor.fleet = self.fleet.results
            self.monitor.live_prober.budgets = self.fleet.budgets
            self.fleet.results.on_remote(self.monitor.adopt)
            self.fleet.results.on_remote(self.live.publish)
            self.fleet.results.on_remote(self.metrics.show)
            if self.alerts is not None:
                self.fleet.results.on_remote(self.alerts.on_result)
                self.alerts.in_charge = self.fleet.alerts_here
                self.alerts.hold_seconds = 2 * settings.cluster.lease_seconds
                self.alerts.shares_outbox = True
        self.scheduler = (
            Scheduler(
                self.monitor,
                settings.scheduler.interval_seconds,
                intervals_of(self.monitor.catalog),
                on_config_events=self.on_config_events,
                initial_spread=settings.scheduler.initial_spread_seconds,
                sharing=self.fleet.work if self.fleet is not None else None,
            )
            if enabled
            else None
        )
        self.management.scheduler = self.scheduler
        self._maintenance: asyncio.Task[None] | None = None
        self._hourly: asyncio.Task[None] | None = None
        self._loop_lag: asyncio.Task[None] | None = None

    def web_app(self) -> FastAPI:
        """The FastAPI app serving this system; its lifespan starts and stops the system."""
        return create_app(self)

    def on_config_events(self, events: list[ConfigEvent]) -> None:
        self.recorder.record_config_events(events)
        if self.alerts is not None:
            self.alerts.on_config_events(events)

    async def start(self) -> None:
        if self.fleet is not None:
            await self.fleet.start()
        self.recorder.start()
        now = time.time()
        self.recent.apply(await asyncio.to_thread(self.recent.load, now, current=True))
        self._hourly = asyncio.create_task(self._reload_recent_hourly())
        self._loop_lag = asyncio.create_task(self.metrics.sample_loop_lag())
        if self.alerts is not None:
            await self.alerts.start()
        if self.scheduler is not None:
            self.scheduler.start()
            self._maintenance = asyncio.create_task(self._maintain_forever())

    async def stop(self) -> None:
        """Stop scheduling, cancel checks in flight, write what is queued, close."""
        if self.scheduler is not None:
            await self.scheduler.stop()
        for task in (self._maintenance, self._hourly, self._loop_lag):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.alerts is not None:
            await self.alerts.stop()
        if self.fleet is not None:
            await self.fleet.stop()
        await self.monitor.aclose()
        await asyncio.to_thread(self.recorder.stop)
        self.store.close()

    async def _reload_recent_hourly(self) -> None:
        """Reload the recent history a little after each hour completes (the recorder has
        written its results by then), so it also holds what other replicas recorded."""
        while True:
            await asyncio.sleep(rollups.HOUR - time.time() % rollups.HOUR + RELOAD_DELAY_SECONDS)
            try:
                loaded = await asyncio.to_thread(self.recent.load, time.time(), current=False)
                self.recent.apply(loaded)
            except Exception as exc:  # keep the counts it has; try again next hour
                log.error("reloading recent history failed: %s", type(exc).__name__)

    async def _maintain_forever(self) -> None:
        history = self.settings.history
        while True:
            try:
                written, deleted = await asyncio.to_thread(
                    rollups.maintain, self.store, time.time(), history.raw_retention_days * 86_400
                )
                if written or deleted:
                    log.info(
                        "history maintenance: %d rollups written, %d raw results pruned",
                        written,
                        deleted,
                    )
            except Exception as exc:  # maintenance must never stop checks
                log.error("history maintenance failed: %s", type(exc).__name__)
            await asyncio.sleep(history.maintenance_interval_seconds)
