"""Replicas that cooperate through Redis: one check, one cache, one flight, live everywhere.

:class:`Fleet` is what :mod:`atom_health.system` builds when a Redis URL is set; without
one nothing here is used and every replica works alone (the in-process defaults). Each part
implements a small interface the layer below calls: the engine's ``fleet``
(:class:`SharedResults`), the scheduler's ``sharing`` (:class:`SharedWork`) and the
provider request budgets (:class:`SharedBudgets`). Everything
degrades to working alone while Redis is away (:class:`RedisLink`).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping

from pydantic import BaseModel

from atom_health.cluster.budgets import SharedBudgets
from atom_health.cluster.link import RedisLink, RedisUnavailable
from atom_health.cluster.results import SharedResults
from atom_health.cluster.work import SharedWork
from atom_health.config import Settings

__all__ = [
    "Fleet",
    "FleetState",
    "RedisLink",
    "RedisUnavailable",
    "SharedBudgets",
    "SharedResults",
    "SharedWork",
]


class FleetState(BaseModel):
    """How this replica cooperates right now (``/readyz``)."""

    redis: str  # "connected" or "unreachable"
    cooperating: bool
    scheduler_lease: bool
    replica: str
    since: float


class Fleet:
    def __init__(self, url: str, settings: Settings, intervals: Mapping[str, float] | None) -> None:
        self.replica = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.link = RedisLink(url, settings.cluster)
        self.budgets = SharedBudgets(self.link, url)
        probes = settings.probes
        self.results = SharedResults(
            self.link,
            self.replica,
            settings.cache_ttl_seconds,
            flight_seconds=probes.deadline_seconds + probes.vendor_timeout_seconds + 5.0,
        )
        self.work = (
            SharedWork(
                self.link,
                self.replica,
                intervals,
                initial_spread=settings.scheduler.initial_spread_seconds,
                concurrency=probes.concurrency,
            )
            if intervals is not None
            else None
        )

    def alerts_here(self) -> bool:
        """Whether this replica sends the fleet's alerts: the scheduler lease holder does,
        and each replica alone while Redis is away."""
        return not self.link.up or (self.work is not None and self.work.leader)

    def state(self) -> FleetState:
        return FleetState(
            redis="connected" if self.link.up else "unreachable",
            cooperating=self.link.up,
            scheduler_lease=self.work is not None and self.work.leader,
            replica=self.replica,
            since=self.link.changed_at,
        )

    async def start(self) -> None:
        await self.link.start()
        self.results.start()

    async def stop(self) -> None:
        """After the scheduler stopped (it stops ``work``, releasing the lease)."""
        await self.results.stop()
        await self.link.stop()
