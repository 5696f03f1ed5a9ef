"""The store: one contract, three backends (memory, SQLite, PostgreSQL).

A backend implements the abstract primitives; counting across raw results and rollups,
and rollup/retention maintenance, are written here once. Methods are synchronous and
thread-safe: the recorder writes from its own thread and the API reads through a thread
pool, so the event loop never waits on a database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from atom_health.alerting.models import Alert, Delivery
from atom_health.history.analytics import counts_of
from atom_health.history.records import CheckRecord, ConfigEvent, Incident, Rollup, StatusCounts
from atom_health.results import Status
from atom_health.store import maintenance


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

    def counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, StatusCounts]:
        """Check counts per integration in [since, until).

        Complete hours that are rolled up are read from their (exact) hourly rollups; raw
        results cover the rest. Where raw results were pruned, the hour that holds
        ``since`` counts whole.
        """
        totals = {name: StatusCounts() for name in integrations}
        for start, end, source in self.plan(since, until):
            read = self.rollup_counts if source == "rollups" else self.raw_counts
            for name, counts in read(integrations, start, end).items():
                totals[name].add(counts)
        return totals

    def hourly_counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, dict[float, StatusCounts]]:
        """Check counts per integration and hour (keyed by the hour's start)."""
        hours: dict[str, dict[float, StatusCounts]] = {name: {} for name in integrations}
        for start, end, source in self.plan(since, until):
            if source == "rollups":
                for name in integrations:
                    for rollup in self.rollups(name, "hour", start, end):
                        hours[name].setdefault(rollup.bucket, StatusCounts()).add(rollup.counts)
                continue
            for record in self.raw_between(start, end):
                if record.integration in hours:
                    hour = maintenance.floor_to(record.checked_at, maintenance.HOUR)
                    hours[record.integration].setdefault(hour, StatusCounts()).add(
                        counts_of([record])
                    )
        return hours

    def plan(self, since: float, until: float) -> list[tuple[float, float, str]]:
        """Split [since, until) into spans read from raw results or from hourly rollups."""
        rolled = self.get_meta("rolled_until_hour")
        cutoff = self.get_meta("raw_cutoff")
        if rolled is None:
            return [(since, until, "raw")]
        raw_kept = cutoff is None or since >= cutoff
        first = (
            maintenance.ceil_to(since, maintenance.HOUR)
            if raw_kept
            else maintenance.floor_to(since, maintenance.HOUR)
        )
        last = maintenance.floor_to(min(until, rolled), maintenance.HOUR)
        if first >= last:
            return [(since, until, "raw")]
        spans = [(first, last, "rollups")]
        if raw_kept and since < first:
            spans.insert(0, (since, first, "raw"))
        if last < until:
            spans.append((last, until, "raw"))
        return spans

    def maintain(self, now: float, raw_retention: float) -> tuple[int, int]:
        """Roll up complete hours and days, drop raw results past the retention.

        Returns (rollup buckets written, raw results deleted).
        """
        return maintenance.maintain(self, now, raw_retention)

    # -- primitives for counting and maintenance -------------------------------------------

    @abstractmethod
    def raw_counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, StatusCounts]: ...

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
