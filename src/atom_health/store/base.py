"""The store: one contract, three backends (memory, SQLite, PostgreSQL).

A backend persists and reads; it does no arithmetic. Counting across raw results and
rollups, and rollup/retention maintenance, are history's (:mod:`atom_health.history.rollups`). Methods are synchronous and
thread-safe: the recorder writes from its own thread and the API reads through a thread
pool, so the event loop never waits on a database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from atom_health.model.alerts import Alert, Delivery
from atom_health.model.audit import AuditRecord
from atom_health.model.history import CheckRecord, ConfigEvent, Incident, Rollup, StatusCounts
from atom_health.model.results import Status


class Store(ABC):
    # -- writing ---------------------------------------------------------------------------

    @abstractmethod
    def add_results(self, records: Sequence[CheckRecord]) -> None: ...

    @abstractmethod
    def save_incidents(self, incidents: Sequence[Incident]) -> None:
        """Insert new incidents (``id`` None; the id is set on them) and update known ones."""

    @abstractmethod
    def add_config_events(self, events: Sequence[ConfigEvent]) -> None: ...

    @abstractmethod
    def save_alert(self, alert: Alert) -> None:
        """Insert a new alert (``id`` None; the id is set on it) or update a known one."""

    @abstractmethod
    def add_delivery(self, delivery: Delivery) -> None: ...

    @abstractmethod
    def alerts(self, *, open_only: bool = False, limit: int = 100) -> list[Alert]:
        """Newest first."""

    @abstractmethod
    def deliveries(self, alert_ids: Sequence[int]) -> list[Delivery]: ...

    # -- reading ---------------------------------------------------------------------------

    @abstractmethod
    def results(
        self,
        integration: str,
        since: float,
        until: float,
        *,
        status: Status | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[CheckRecord], int]:
        """A page of results in [since, until), newest first, and how many match in all."""

    @abstractmethod
    def latest(self, integrations: Sequence[str]) -> dict[str, CheckRecord]:
        """The most recent result of each of these integrations that has one."""

    @abstractmethod
    def latencies(self, integration: str, since: float, until: float) -> list[float]:
        """Latencies of retained raw results in [since, until)."""

    @abstractmethod
    def incidents(
        self, integration: str | None, since: float, until: float, *, open_only: bool = False
    ) -> list[Incident]:
        """Incidents overlapping [since, until) (all open ones with ``open_only``), oldest first."""

    @abstractmethod
    def config_events(self, integration: str, since: float, until: float) -> list[ConfigEvent]: ...

    # -- primitives for counting and rollups (history/rollups.py) ----------------------------------------

    @abstractmethod
    def raw_counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, StatusCounts]: ...

    @abstractmethod
    def raw_hourly_counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, dict[float, StatusCounts]]:
        """Counts of raw results in [since, until) per integration and hour (its start)."""

    @abstractmethod
    def rollup_counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, StatusCounts]:
        """Sums of the hourly rollups whose bucket starts in [since, until)."""

    @abstractmethod
    def raw_between(self, start: float, end: float) -> list[CheckRecord]: ...

    @abstractmethod
    def oldest_raw(self) -> float | None: ...

    @abstractmethod
    def put_rollups(self, rollups: Sequence[Rollup]) -> None: ...

    @abstractmethod
    def rollups(
        self, integration: str, granularity: str, since: float, until: float
    ) -> list[Rollup]: ...

    @abstractmethod
    def delete_raw_before(self, moment: float) -> int: ...

    @abstractmethod
    def delete_rollups_before(self, granularity: str, moment: float) -> None: ...

    @abstractmethod
    def get_meta(self, key: str) -> float | None: ...

    @abstractmethod
    def set_meta(self, key: str, value: float) -> None: ...

    def close(self) -> None:  # noqa: B027 - a no-op unless the backend holds resources
        """Release connections."""

    # -- audit trail (admin actions) --------------------------------------------------------

    @abstractmethod
    def add_audit(self, record: AuditRecord) -> None: ...

    @abstractmethod
    def audit(self, *, limit: int = 100, offset: int = 0) -> list[AuditRecord]:
        """Newest first."""
