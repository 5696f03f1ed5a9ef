"""The store: one contract, three backends (memory, SQLite, PostgreSQL).

A backend persists and reads; it does no arithmetic. Counting across raw results and
rollups, and rollup/retention maintenance, are history's (:mod:`atom_health.history.rollups`). Methods are synchronous and
thread-safe: the recorder writes from its own thread and the API reads through a thread
pool, so the event loop never waits on a database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from atom_health.config.alerting import MaintenanceWindow
from atom_health.model.alerts import (
    Alert,
    AlertChange,
    AlertState,
    Delivery,
    Notification,
    NotificationState,
    Silence,
)
from atom_health.model.audit import AuditRecord
from atom_health.model.history import CheckRecord, ConfigEvent, Incident, Rollup, StatusCounts
from atom_health.model.results import Status

# Replicas writing the same alert change race within seconds; a genuine repeat (a reminder,
# an alert opened again after it resolved) comes minutes later.
REPEAT_WINDOW_SECONDS = 60.0


class Store(ABC):
    # -- writing ---------------------------------------------------------------------------

    @abstractmethod
    def add_results(self, records: Sequence[CheckRecord]) -> None: ...

    @abstractmethod
    def save_incidents(self, incidents: Sequence[Incident]) -> None:
        """Insert new incidents (``id`` None; the id is set on them) and update known ones."""

    @abstractmethod
    def add_config_events(self, events: Sequence[ConfigEvent]) -> None: ...

    # -- alerting: state and outbox, each change in one transaction ----------------------

    @abstractmethod
    def commit_alert_change(self, change: AlertChange, outbox_limit: int) -> dict[str, int]:
        """In one transaction: save each event's alert (a new one gets its id, set on it),
        add its notifications (their ``alert_id`` and ``payload`` are filled in here, once
        the alert has its id), and replace the rules' state of the integrations named.
        Past ``outbox_limit`` pending notifications the oldest are dropped; returns how many
        per notifier.

        Replicas sharing a database may race to write the same change. An event that another
        writer already made is not written again and gets no notifications (its alert takes
        the stored id): "opened" while an alert with that key is open (one open alert per
        key); any change to an alert already resolved, or "resolved" for a key resolved
        within ``REPEAT_WINDOW_SECONDS``; a "reminder" within ``REPEAT_WINDOW_SECONDS`` of
        the last notification (reminders are minutes apart); an "updated" to the members
        and severity the alert already has."""

    @abstractmethod
    def rule_states(self) -> dict[str, str]:
        """The rules' saved memory, per integration (JSON)."""

    @abstractmethod
    def acknowledge_alert(self, alert_id: int, at: float, by: str, comment: str) -> None:
        """Record an acknowledgement (the only writer of these fields: a commit of the rules'
        changes keeps them as they are)."""

    @abstractmethod
    def alerts(
        self,
        *,
        state: AlertState | None = None,
        integration: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Alert], int]:
        """A page of alerts opened in [since, until), newest first, and how many match.
        ``state`` open, resolved or acknowledged (open and acknowledged)."""

    @abstractmethod
    def alert(self, alert_id: int) -> Alert | None: ...

    @abstractmethod
    def pending_notifications(self, limit: int) -> list[Notification]:
        """The oldest pending notifications, oldest first."""

    @abstractmethod
    def claim_notifications(
        self, notification_ids: Sequence[int], owner: str, now: float, until: float
    ) -> list[int]:
        """Claim pending notifications for ``owner`` until ``until``, so that among replicas
        sharing the outbox one sends each; returns the ids claimed. A notification claimed by
        another owner is taken only once that claim has expired (its owner died sending)."""

    @abstractmethod
    def release_claims(self) -> None:
        """Forget every claim: at the start of the only process using this outbox, the
        claims left are a killed predecessor's."""

    @abstractmethod
    def record_attempt(self, notification: Notification, attempt: Delivery) -> None:
        """Store an attempt and the notification's new state, in one transaction."""

    @abstractmethod
    def notifications(
        self,
        *,
        alert_ids: Sequence[int] | None = None,
        state: NotificationState | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> tuple[list[Notification], int]:
        """Notifications (of these alerts, in this state), oldest first, and how many match."""

    @abstractmethod
    def deliveries(self, notification_ids: Sequence[int]) -> list[Delivery]:
        """Their attempts, oldest first."""

    @abstractmethod
    def save_silence(self, silence: Silence) -> None:
        """Insert a new silence (``id`` None; the id is set on it) or update a known one."""

    @abstractmethod
    def silences(self, *, active_at: float | None = None) -> list[Silence]:
        """Every silence (or those active at ``active_at``), newest first."""

    @abstractmethod
    def add_maintenance(self, window: MaintenanceWindow, created_at: float) -> int:
        """Keep a maintenance window added at run time; returns its id (never reused)."""

    @abstractmethod
    def maintenance_windows(self) -> dict[int, MaintenanceWindow]:
        """The maintenance windows added at run time, by id, oldest first."""

    @abstractmethod
    def delete_maintenance(self, window_id: int) -> bool:
        """Delete a window added at run time; False when there is none by that id."""

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
