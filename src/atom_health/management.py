"""Run-time management of a running system: integrations switched on and off (kept in the
store across restarts and reloads), the config file reloaded with a diff of what changed,
maintenance windows added and removed (kept in the store: see
:meth:`~atom_health.alerting.manager.AlertManager.add_maintenance`).

Every change is applied to the parts that already run (the catalog object they all hold, the
scheduler, the engine's settings, the alert rules) and announced on the live stream, so the
dashboard follows it at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from atom_health.alerting.manager import AlertManager
from atom_health.alerting.rules import window_active
from atom_health.catalog import Catalog, Integration, build_catalog
from atom_health.config import Settings, load_settings
from atom_health.config.alerting import MaintenanceWindow
from atom_health.config.diff import catalog_changes, settings_changes
from atom_health.model.manage import (
    ConfigDiff,
    IntegrationChange,
    ManagedIntegration,
    ManagedIntegrations,
    ManagedWindow,
    ManagedWindows,
)
from atom_health.model.results import utc_now
from atom_health.monitor import HealthMonitor, UnknownIntegrationError
from atom_health.scheduling import Scheduler
from atom_health.store.base import Store

log = logging.getLogger(__name__)

ENABLED_META = "manage.enabled."  # + integration id: 1.0 enabled, 0.0 disabled at run time
DEFAULTS_SOURCE = "(defaults)"
# Settings a reload applies at once; any other changed setting applies after a restart.
LIVE_SETTINGS = (
    "cache_ttl_seconds",
    "batch_deadline_seconds",
    "refresh_min_interval_seconds",
    "scheduler.interval_seconds",
    "alerting.maintenance",
)


class AlertingOffError(RuntimeError):
    """Maintenance windows silence alerts; with alerting off there is nothing to silence."""


class NoConfigFileError(RuntimeError):
    """The system runs on built-in defaults: there is no file to reload."""


class Management:
    def __init__(
        self,
        settings: Settings,
        environ: Mapping[str, str],
        monitor: HealthMonitor,
        store: Store,
        alerts: AlertManager | None,
        announce: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.environ = environ
        self.monitor = monitor
        self.store = store
        self.alerts = alerts
        self.scheduler: Scheduler | None = None
        self.announce = announce  # tells the live stream what changed
        self.catalog_followers: list[Callable[[Catalog], None]] = []  # e.g. the metrics
        self.overrides: dict[str, bool] = {}
        if alerts is not None:  # windows another replica added or deleted
            alerts.on_maintenance_change = lambda: announce("maintenance")
        self._reloading = asyncio.Lock()

    @property
    def catalog(self) -> Catalog:
        return self.monitor.catalog

    # -- integrations -----------------------------------------------------------------------

    def load_overrides(self) -> None:
        """Apply the switches kept in the store (at start, before anything is scheduled)."""
        for integration in self.catalog.every():
            kept = self.store.get_meta(ENABLED_META + integration.id)
            if kept is not None:
                self.overrides[integration.id] = kept > 0.5
        self._apply_overrides(self.catalog)

    def _apply_overrides(self, catalog: Catalog) -> None:
        for integration in catalog.every():
            wanted = self.overrides.get(integration.id)
            if wanted is not None and wanted != integration.enabled:
                catalog.set_enabled(integration.id, wanted)

    def integrations(self) -> ManagedIntegrations:
        return ManagedIntegrations(
            timestamp=utc_now(), integrations=[self._managed(i) for i in self.catalog.every()]
        )

    def _managed(self, integration: Integration) -> ManagedIntegration:
        return ManagedIntegration(
            id=integration.id,
            name=integration.name,
            criticality=integration.criticality,
            kind=integration.kind,
            enabled=integration.enabled,
            enabled_by="runtime" if integration.id in self.overrides else "config",
        )

    def find(self, name: str) -> Integration:
        """The integration called ``name``, disabled or not."""
        integration = self.catalog.lookup(name)
        if integration is None:
            raise UnknownIntegrationError(name)
        return integration

    async def set_enabled(self, name: str, enabled: bool) -> ManagedIntegration:
        """Switch an integration on or off now, and keep that across restarts and reloads."""
        integration = self.find(name)
        await asyncio.to_thread(
            self.store.set_meta, ENABLED_META + integration.id, 1.0 if enabled else 0.0
        )
        self.overrides[integration.id] = enabled
        if integration.enabled != enabled:
            self.catalog.set_enabled(integration.id, enabled)
            self._catalog_changed()
        return self._managed(self.find(integration.id))

    def _catalog_changed(self) -> None:
        if self.scheduler is not None:
            self.scheduler.follow_catalog(intervals_of(self.catalog))
        if self.alerts is not None:
            self.alerts.engine.criticality = {i.id: i.criticality for i in self.catalog}
        for follow in self.catalog_followers:
            follow(self.catalog)
        self.announce("integrations")

    # -- config reload ----------------------------------------------------------------------

    async def reload(self) -> ConfigDiff:
        """Read the config file again and apply it; raises :class:`ConfigError` (the running
        config is kept) or :class:`NoConfigFileError`."""
        source = self.settings.source
        if source == DEFAULTS_SOURCE:
            raise NoConfigFileError(
                "this server runs on built-in defaults (no --config or $ATOM_HEALTH_CONFIG): "
                "there is no config file to reload"
            )
        async with self._reloading:
            new = keep_database(await asyncio.to_thread(load_settings, source), self.settings)
            catalog = build_catalog(new, self.environ)
            self._apply_overrides(catalog)
            added, removed, changed = catalog_changes(self.catalog, catalog)
            paths = settings_changes(self.settings, new)
            live = [p for p in paths if p.startswith(LIVE_SETTINGS)]
            self._apply_settings(new)
            if added or removed or changed:
                self.monitor.forget([*removed, *changed])
                self.catalog.replace_with(catalog)
                self._catalog_changed()
            if "alerting.maintenance" in live:
                self.announce("maintenance")
            log.info(
                "config reloaded from %s: %d added, %d removed, %d changed, settings: %s",
                source,
                len(added),
                len(removed),
                len(changed),
                ", ".join(paths) or "none",
            )
            return ConfigDiff(
                timestamp=utc_now(),
                source=source,
                added=added,
                removed=removed,
                changed=[IntegrationChange(id=k, fields=v) for k, v in changed.items()],
                settings_changed=paths,
                restart_required=[p for p in paths if p not in live],
            )

    def _apply_settings(self, new: Settings) -> None:
        """Take the settings that apply live; keep the others as they run until a restart."""
        old = self.settings
        applied = old.model_copy(
            update={
                "cache_ttl_seconds": new.cache_ttl_seconds,
                "batch_deadline_seconds": new.batch_deadline_seconds,
                "refresh_min_interval_seconds": new.refresh_min_interval_seconds,
                "scheduler": old.scheduler.model_copy(
                    update={"interval_seconds": new.scheduler.interval_seconds}
                ),
                "alerting": old.alerting.model_copy(
                    update={"maintenance": new.alerting.maintenance}
                ),
                "integrations": new.integrations,
                "backends": new.backends,
            }
        )
        applied._source = old.source
        self.settings = self.monitor.settings = applied
        if self.scheduler is not None:
            self.scheduler.default_interval = new.scheduler.interval_seconds
        if self.alerts is not None:
            self.alerts.settings = self.alerts.engine.settings = applied.alerting

    # -- maintenance windows ----------------------------------------------------------------

    def _engine_windows(self) -> tuple[list[MaintenanceWindow], dict[str, MaintenanceWindow]]:
        if self.alerts is None:
            return list(self.settings.alerting.maintenance), {}
        engine = self.alerts.engine
        return list(engine.settings.maintenance), engine.runtime_maintenance

    def windows(self) -> ManagedWindows:
        configured, runtime = self._engine_windows()
        now = time.time()
        listed = [
            managed(f"config-{n}", "config", w, now) for n, w in enumerate(configured, start=1)
        ]
        listed += [managed(key, "runtime", w, now) for key, w in runtime.items()]
        return ManagedWindows(timestamp=utc_now(), windows=listed)

    async def add_window(self, window: MaintenanceWindow) -> ManagedWindow:
        """Add a window, kept across restarts (and seen by replicas sharing the database)."""
        if self.alerts is None:
            raise AlertingOffError(
                "alerting is off (alerting.enabled: false): a maintenance window silences alerts"
            )
        key = await self.alerts.add_maintenance(window)
        self.announce("maintenance")
        return managed(key, "runtime", self.alerts.engine.runtime_maintenance[key], time.time())

    async def remove_window(self, key: str) -> bool:
        """Delete a window added at run time; False when there is none by that id."""
        if self.alerts is None or not await self.alerts.remove_maintenance(key):
            return False
        self.announce("maintenance")
        return True


def keep_database(new: Settings, running: Settings) -> Settings:
    """``new`` with the running database URL: it is chosen once, at start (where
    ``--database-url`` or the environment may have overridden the file's)."""
    history = new.history.model_copy(update={"database_url": running.history.database_url})
    kept = new.model_copy(update={"history": history})
    kept._source = new.source
    return kept


def intervals_of(catalog: Catalog) -> dict[str, float]:
    return {i.id: i.interval_seconds for i in catalog.every() if i.interval_seconds}


def managed(key: str, source: str, window: MaintenanceWindow, now: float) -> ManagedWindow:
    return ManagedWindow(
        id=key,
        source="config" if source == "config" else "runtime",
        active=window_active(window, now),
        name=window.name,
        services=window.services,
        start=window.start,
        end=window.end,
        weekdays=list(window.weekdays),
        start_time=window.start_time.isoformat() if window.start_time else None,
        end_time=window.end_time.isoformat() if window.end_time else None,
        timezone=window.timezone,
    )
