"""What the web layer needs from a running system: its parts, which it reads.

:class:`atom_health.system.HealthSystem` (the composition root) builds them; the web layer
only names the shape, so it never imports the layer that builds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from atom_health.alerting.manager import AlertManager
from atom_health.config import Settings
from atom_health.history.recent import RecentHistory
from atom_health.management import Management
from atom_health.monitor import HealthMonitor
from atom_health.scheduling import Scheduler
from atom_health.sinks.live import LiveUpdates
from atom_health.sinks.metrics import HealthMetrics
from atom_health.store.base import Store

if TYPE_CHECKING:  # the cluster package needs the optional redis extra
    from atom_health.cluster import Fleet


class SystemParts(Protocol):
    settings: Settings
    environ: Mapping[str, str]
    redis_url: str | None
    monitor: HealthMonitor
    store: Store
    recent: RecentHistory
    live: LiveUpdates
    metrics: HealthMetrics
    alerts: AlertManager | None
    scheduler: Scheduler | None
    fleet: Fleet | None
    management: Management

    async def start(self) -> None:
        """Start the background parts (recorder, scheduler, alerting)."""

    async def stop(self) -> None:
        """Stop them, writing what is queued."""
