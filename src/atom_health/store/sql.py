"""The SQL store: SQLite (default; WAL mode) or PostgreSQL, with Alembic migrations at start."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url

from atom_health.config.alerting import MaintenanceWindow
from atom_health.model.alerts import (
    Alert,
    AlertChange,
    AlertEvent,
    AlertState,
    Delivery,
    Notification,
    NotificationState,
    Silence,
)
from atom_health.model.audit import AuditRecord
from atom_health.model.history import CheckRecord, ConfigEvent, Incident, Rollup, StatusCounts
from atom_health.model.results import Status
from atom_health.store import schema
from atom_health.store.base import REPEAT_WINDOW_SECONDS, Store

_R = schema.check_results
_I = schema.incidents
_U = schema.rollups
_A = schema.alerts
_N = schema.alert_notifications
_D = schema.alert_deliveries
_S = schema.alert_rule_state
_X = schema.alert_silences
_W = schema.maintenance_windows
_ACK_COLUMNS = ("acknowledged_at", "acknowledged_by", "ack_comment")


def create_sql_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and their folder is created."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across a crashed process
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


MIGRATION_LOCK_ID = 0x61746F6D  # any constant of ours: PostgreSQL's advisory lock key


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest migration."""
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("atom_health.store").joinpath("migrations"))
    )
    with engine.begin() as connection:
        # Processes starting together on one database migrate it one at a time.
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        elif connection.dialect.name == "sqlite":  # the write lock first (waits busy_timeout)
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _record(row: Any) -> CheckRecord:
    return CheckRecord(
        integration=row.integration,
        checked_at=row.checked_at,
        status=Status(row.status),
        category=row.category,
        latency_ms=row.latency_ms,
        http_status=row.http_status,
        vendor_state=row.vendor_state,
        message=row.message,
    )


def _incident(row: Any) -> Incident:
    return Incident(
        id=row.id,
        integration=row.integration,
        started_at=row.started_at,
        ended_at=row.ended_at,
        worst_status=Status(row.worst_status),
        category=row.category,
        message=row.message,
    )


def _add(counts: StatusCounts, status: str, count: int, vendor_count: int | None) -> None:
    counts.total += count
    if status == Status.healthy.value:
        counts.healthy += count
    elif status == Status.degraded.value:
        counts.degraded += count
    else:
        counts.unhealthy += count
        counts.vendor_outage += int(vendor_count or 0)


def _alert_row(alert: Alert) -> dict[str, Any]:
    values = alert.to_dict()
    del values["id"]
    return {**values, "kind": alert.kind.value, "services": f",{','.join(alert.services)},"}


def _alert(row: Any) -> Alert:
    values = {column.name: getattr(row, column.name) for column in _A.c}
    values["services"] = [s for s in row.services.split(",") if s]
    return Alert.from_dict(values)


def _not_yet_written(event: AlertEvent) -> list[ColumnElement[bool]]:
    """The row conditions under which ``event`` is a change nobody wrote yet
    (:meth:`Store.commit_alert_change` says which)."""
    still_open = _A.c.resolved_at.is_(None)
    if event.action == "reminder":
        recent = event.at - REPEAT_WINDOW_SECONDS
        return [still_open, or_(_A.c.last_sent_at.is_(None), _A.c.last_sent_at < recent)]
    if event.action == "updated":
        services = _alert_row(event.alert)["services"]
        changed = or_(_A.c.services != services, _A.c.severity != event.alert.severity)
        return [still_open, changed]
    return [still_open]


def _notification_row(notification: Notification) -> dict[str, Any]:
    values = dataclasses.asdict(notification)
    del values["id"]
    return values


def _notification(row: Any) -> Notification:
    return Notification(**{column.name: getattr(row, column.name) for column in _N.c})


class SqlStore(Store):
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_sql_engine(url)
        migrate(self.engine)
        marker = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        columns = "integration, checked_at, status, category, latency_ms, http_status, vendor_state, message"
        self._insert_result = (
            f"INSERT INTO check_results ({columns}) VALUES ({', '.join([marker] * 8)})"
        )

    def close(self) -> None:
        self.engine.dispose()

    def add_results(self, records: Sequence[CheckRecord]) -> None:
        """One driver-level executemany per batch (the hot write path: every check)."""
        if not records:
            return
        rows = [
            (r.integration, r.checked_at, r.status.value, r.category, r.latency_ms,
             r.http_status, r.vendor_state, r.message)
            for r in records
        ]  # fmt: skip
        with self.engine.begin() as connection:
            connection.exec_driver_sql(self._insert_result, rows)

    def save_incidents(self, incidents: Sequence[Incident]) -> None:
        if not incidents:
            return
        with self.engine.begin() as connection:
            for incident in incidents:
                values = {
                    "integration": incident.integration,
                    "started_at": incident.started_at,
                    "ended_at": incident.ended_at,
                    "worst_status": incident.worst_status.value,
                    "category": incident.category,
                    "message": incident.message,
                }
                if incident.id is None:
                    result = connection.execute(insert(_I).values(**values).returning(_I.c.id))
                    incident.id = int(result.scalar_one())
                else:
                    connection.execute(update(_I).where(_I.c.id == incident.id).values(**values))

    def add_config_events(self, events: Sequence[ConfigEvent]) -> None:
        if events:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(schema.config_events), [dataclasses.asdict(e) for e in events]
                )

    # -- alerting --------------------------------------------------------------------------

    def commit_alert_change(self, change: AlertChange, outbox_limit: int) -> dict[str, int]:
        with self.engine.begin() as connection:
            ids: dict[tuple[str, float], int] = {}  # alerts given an id in this transaction
            for event, notifications in change.events:
                alert = event.alert
                alert.id = alert.id or ids.get((alert.key, alert.opened_at))
                values = _alert_row(alert)
                for column in _ACK_COLUMNS:  # written by acknowledge_alert only
                    del values[column]
                alert.id, written = self._save_alert(connection, event, values)
                ids[(alert.key, alert.opened_at)] = alert.id
                if not written:  # another replica made this change: its notifications are out
                    continue
                for notification in notifications:
                    notification.alert_id = alert.id
                    notification.payload = event.to_json()
                    row = _notification_row(notification)
                    inserted = connection.execute(insert(_N).values(**row).returning(_N.c.id))
                    notification.id = int(inserted.scalar_one())
            for integration, state in change.rule_states.items():
                changed = connection.execute(
                    update(_S).where(_S.c.integration == integration).values(state=state)
                ).rowcount
                if not changed:
                    connection.execute(insert(_S).values(integration=integration, state=state))
            return self._drop_past(connection, outbox_limit)

    @staticmethod
    def _save_alert(
        connection: Connection, event: AlertEvent, values: dict[str, Any]
    ) -> tuple[int, bool]:
        """Save an event's alert: its id, and whether this was a change nobody wrote yet."""
        alert = event.alert
        open_now = select(_A.c.id).where(_A.c.key == alert.key, _A.c.resolved_at.is_(None))
        if alert.id is None:  # new to this process: another replica may have written it
            alert.id = connection.execute(open_now).scalar_one_or_none()
        if alert.id is None and alert.resolved_at is not None:
            recently = select(_A.c.id).where(
                _A.c.key == alert.key, _A.c.resolved_at >= event.at - REPEAT_WINDOW_SECONDS
            )
            if (resolved := connection.execute(recently.limit(1)).scalar_one_or_none()) is not None:
                return int(resolved), False
            return int(
                connection.execute(insert(_A).values(**values).returning(_A.c.id)).scalar_one()
            ), True
        if alert.id is None:  # the one open row per key (a unique index) decides a race
            dialect_insert = (
                postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
            )
            statement = (
                dialect_insert(_A)
                .values(**values)
                .on_conflict_do_nothing(
                    index_elements=["key"], index_where=_A.c.resolved_at.is_(None)
                )
                .returning(_A.c.id)
            )
            if (new_id := connection.execute(statement).scalar_one_or_none()) is not None:
                return int(new_id), True
            alert.id = connection.execute(open_now).scalar_one()
        if event.action == "opened":  # it was open already
            return int(alert.id), False
        changed = update(_A).where(_A.c.id == alert.id, *_not_yet_written(event)).values(**values)
        return int(alert.id), connection.execute(changed).rowcount == 1

    @staticmethod
    def _drop_past(connection: Connection, limit: int) -> dict[str, int]:
        pending = connection.execute(
            select(func.count()).where(_N.c.state == "pending")
        ).scalar_one()
        if pending <= limit:
            return {}
        # Never one being sent (claimed): its attempt, when it ends, writes the row back.
        oldest = (
            select(_N.c.id, _N.c.notifier)
            .where(
                _N.c.state == "pending",
                or_(_N.c.claimed_until.is_(None), _N.c.claimed_until < time.time()),
            )
            .order_by(_N.c.id)
            .limit(int(pending) - limit)
        )
        rows = connection.execute(oldest).all()
        connection.execute(
            update(_N)
            .where(_N.c.id.in_([row.id for row in rows]))
            .values(state="dropped", last_error="dropped: the outbox was full")
        )
        dropped: dict[str, int] = {}
        for row in rows:
            dropped[row.notifier] = dropped.get(row.notifier, 0) + 1
        return dropped

    def rule_states(self) -> dict[str, str]:
        with self.engine.connect() as connection:
            return {row.integration: row.state for row in connection.execute(select(_S))}

    def acknowledge_alert(self, alert_id: int, at: float, by: str, comment: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(_A)
                .where(_A.c.id == alert_id)
                .values(acknowledged_at=at, acknowledged_by=by, ack_comment=comment)
            )

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
        where: list[ColumnElement[bool]] = []
        if state == "open":
            where.append(_A.c.resolved_at.is_(None))
        elif state == "resolved":
            where.append(_A.c.resolved_at.is_not(None))
        elif state == "acknowledged":
            where += [_A.c.resolved_at.is_(None), _A.c.acknowledged_at.is_not(None)]
        if integration is not None:
            where.append(_A.c.services.contains(f",{integration},", autoescape=True))
        if since is not None:
            where.append(_A.c.opened_at >= since)
        if until is not None:
            where.append(_A.c.opened_at < until)
        query = select(_A).where(*where).order_by(_A.c.opened_at.desc(), _A.c.id.desc())
        with self.engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(_A).where(*where))
            rows = connection.execute(query.limit(limit).offset(offset))
            return [_alert(row) for row in rows], int(total.scalar_one())

    def alert(self, alert_id: int) -> Alert | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(_A).where(_A.c.id == alert_id)).first()
            return _alert(row) if row is not None else None

    def pending_notifications(self, limit: int) -> list[Notification]:
        query = select(_N).where(_N.c.state == "pending").order_by(_N.c.id).limit(limit)
        with self.engine.connect() as connection:
            return [_notification(row) for row in connection.execute(query)]

    def claim_notifications(
        self, notification_ids: Sequence[int], owner: str, now: float, until: float
    ) -> list[int]:
        if not notification_ids:
            return []
        # A conditional UPDATE locks each row it takes: a replica racing for the same rows
        # waits, then finds them claimed (PostgreSQL re-reads a row after the lock's holder
        # commits; SQLite has one writer at a time).
        claim = (
            update(_N)
            .where(
                _N.c.id.in_(list(notification_ids)),
                _N.c.state == "pending",
                or_(_N.c.claimed_until.is_(None), _N.c.claimed_until < now,
                    _N.c.claimed_by == owner),
            )
            .values(claimed_by=owner, claimed_until=until)
            .returning(_N.c.id)
        )  # fmt: skip
        with self.engine.begin() as connection:
            return [int(row.id) for row in connection.execute(claim)]

    def release_claims(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(_N)
                .where(_N.c.claimed_by.is_not(None))
                .values(claimed_by=None, claimed_until=None)
            )

    def record_attempt(self, notification: Notification, attempt: Delivery) -> None:
        row = _notification_row(notification)
        with self.engine.begin() as connection:
            connection.execute(update(_N).where(_N.c.id == notification.id).values(**row))
            connection.execute(insert(_D).values(**dataclasses.asdict(attempt)))

    def notifications(
        self,
        *,
        alert_ids: Sequence[int] | None = None,
        state: NotificationState | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> tuple[list[Notification], int]:
        where: list[ColumnElement[bool]] = []
        if alert_ids is not None:
            where.append(_N.c.alert_id.in_(list(alert_ids)))
        if state is not None:
            where.append(_N.c.state == state)
        with self.engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(_N).where(*where))
            rows = connection.execute(
                select(_N).where(*where).order_by(_N.c.id).limit(limit).offset(offset)
            )
            return [_notification(row) for row in rows], int(total.scalar_one())

    def deliveries(self, notification_ids: Sequence[int]) -> list[Delivery]:
        query = (
            select(_D)
            .where(_D.c.notification_id.in_(list(notification_ids)))
            .order_by(_D.c.at, _D.c.id)
        )
        with self.engine.connect() as connection:
            return [
                Delivery(
                    notification_id=row.notification_id,
                    alert_id=row.alert_id,
                    notifier=row.notifier,
                    action=row.action,
                    attempt=row.attempt,
                    at=row.at,
                    ok=bool(row.ok),
                    error=row.error,
                )
                for row in connection.execute(query)
            ]

    def save_silence(self, silence: Silence) -> None:
        values = {**dataclasses.asdict(silence), "integrations": ",".join(silence.integrations)}
        del values["id"]
        with self.engine.begin() as connection:
            if silence.id is None:
                inserted = connection.execute(insert(_X).values(**values).returning(_X.c.id))
                silence.id = int(inserted.scalar_one())
            else:
                connection.execute(update(_X).where(_X.c.id == silence.id).values(**values))

    def silences(self, *, active_at: float | None = None) -> list[Silence]:
        query = select(_X).order_by(_X.c.id.desc())
        if active_at is not None:
            query = query.where(_X.c.starts_at <= active_at, _X.c.ends_at > active_at)
        with self.engine.connect() as connection:
            return [
                Silence(
                    integrations=row.integrations.split(","),
                    starts_at=row.starts_at,
                    ends_at=row.ends_at,
                    created_by=row.created_by,
                    comment=row.comment,
                    created_at=row.created_at,
                    id=row.id,
                )
                for row in connection.execute(query)
            ]

    def add_maintenance(self, window: MaintenanceWindow, created_at: float) -> int:
        values = {"spec": window.model_dump_json(), "created_at": created_at}
        with self.engine.begin() as connection:
            return int(
                connection.execute(insert(_W).values(**values).returning(_W.c.id)).scalar_one()
            )

    def maintenance_windows(self) -> dict[int, MaintenanceWindow]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(_W.c.id, _W.c.spec).order_by(_W.c.id)).all()
        return {row.id: MaintenanceWindow.model_validate_json(row.spec) for row in rows}

    def delete_maintenance(self, window_id: int) -> bool:
        with self.engine.begin() as connection:
            return connection.execute(delete(_W).where(_W.c.id == window_id)).rowcount > 0

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
        where: list[ColumnElement[bool]] = [
            _R.c.integration == integration,
            _R.c.checked_at >= since,
            _R.c.checked_at < until,
        ]
        if status is not None:
            where.append(_R.c.status == status.value)
        with self.engine.connect() as connection:
            total = connection.execute(select(func.count()).where(*where)).scalar_one()
            rows = connection.execute(
                select(_R)
                .where(*where)
                .order_by(_R.c.checked_at.desc(), _R.c.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return [_record(row) for row in rows], int(total)

    def latest(self, integrations: Sequence[str]) -> dict[str, CheckRecord]:
        if not integrations:
            return {}
        newest = [  # one index-backed lookup per integration
            select(_R).where(_R.c.integration == name).order_by(_R.c.checked_at.desc()).limit(1)
            for name in integrations
        ]
        query = union_all(*(q.subquery().select() for q in newest))
        with self.engine.connect() as connection:
            return {row.integration: _record(row) for row in connection.execute(query)}

    def latencies(self, integration: str, since: float, until: float) -> list[float]:
        query = select(_R.c.latency_ms).where(
            _R.c.integration == integration,
            _R.c.checked_at >= since,
            _R.c.checked_at < until,
            _R.c.latency_ms.is_not(None),
        )
        with self.engine.connect() as connection:
            return [value for (value,) in connection.execute(query)]

    def incidents(
        self, integration: str | None, since: float, until: float, *, open_only: bool = False
    ) -> list[Incident]:
        where: list[ColumnElement[bool]]
        if open_only:
            where = [_I.c.ended_at.is_(None)]
        else:
            where = [_I.c.started_at < until, (_I.c.ended_at.is_(None)) | (_I.c.ended_at > since)]
        if integration is not None:
            where.append(_I.c.integration == integration)
        with self.engine.connect() as connection:
            rows = connection.execute(select(_I).where(*where).order_by(_I.c.started_at))
            return [_incident(row) for row in rows]

    def config_events(self, integration: str, since: float, until: float) -> list[ConfigEvent]:
        table = schema.config_events
        query = (
            select(table.c.integration, table.c.at, table.c.variable, table.c.change)
            .where(table.c.integration == integration, table.c.at >= since, table.c.at < until)
            .order_by(table.c.at)
        )
        with self.engine.connect() as connection:
            return [ConfigEvent(*row) for row in connection.execute(query)]

    def raw_counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, StatusCounts]:
        vendor = func.sum((_R.c.category == "vendor_outage").cast(Integer()))
        query = (
            select(_R.c.integration, _R.c.status, func.count(), vendor)
            .where(
                _R.c.integration.in_(list(integrations)),
                _R.c.checked_at >= since,
                _R.c.checked_at < until,
            )
            .group_by(_R.c.integration, _R.c.status)
        )
        totals = {name: StatusCounts() for name in integrations}
        with self.engine.connect() as connection:
            for name, status, count, vendor_count in connection.execute(query):
                _add(totals[name], status, count, vendor_count)
        return totals

    def raw_hourly_counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, dict[float, StatusCounts]]:
        hour_number = (
            func.floor(_R.c.checked_at / 3600)
            if self.engine.dialect.name == "postgresql"
            else cast(_R.c.checked_at / 3600, Integer())  # SQLite: truncates (epochs are > 0)
        )
        vendor = func.sum((_R.c.category == "vendor_outage").cast(Integer()))
        query = (
            select(_R.c.integration, hour_number, _R.c.status, func.count(), vendor)
            .where(
                _R.c.integration.in_(list(integrations)),
                _R.c.checked_at >= since,
                _R.c.checked_at < until,
            )
            .group_by(_R.c.integration, hour_number, _R.c.status)
        )
        hours: dict[str, dict[float, StatusCounts]] = {name: {} for name in integrations}
        with self.engine.connect() as connection:
            for name, number, status, count, vendor_count in connection.execute(query):
                counts = hours[name].setdefault(float(number) * 3600, StatusCounts())
                _add(counts, status, count, vendor_count)
        return hours

    def rollup_counts(
        self, integrations: Sequence[str], since: float, until: float
    ) -> dict[str, StatusCounts]:
        query = (
            select(
                _U.c.integration,
                func.sum(_U.c.total),
                func.sum(_U.c.healthy),
                func.sum(_U.c.degraded),
                func.sum(_U.c.unhealthy),
                func.sum(_U.c.vendor_outage),
            )
            .where(
                _U.c.integration.in_(list(integrations)),
                _U.c.granularity == "hour",
                _U.c.bucket >= since,
                _U.c.bucket < until,
            )
            .group_by(_U.c.integration)
        )
        totals = {name: StatusCounts() for name in integrations}
        with self.engine.connect() as connection:
            for name, *numbers in connection.execute(query):
                totals[name] = StatusCounts(*(int(n or 0) for n in numbers))
        return totals

    def raw_between(self, start: float, end: float) -> list[CheckRecord]:
        query = select(_R).where(_R.c.checked_at >= start, _R.c.checked_at < end)
        with self.engine.connect() as connection:
            return [_record(row) for row in connection.execute(query)]

    def oldest_raw(self) -> float | None:
        with self.engine.connect() as connection:
            value = connection.execute(select(func.min(_R.c.checked_at))).scalar_one()
            return float(value) if value is not None else None

    def put_rollups(self, rollups: Sequence[Rollup]) -> None:
        if not rollups:
            return
        rows = [
            {
                "integration": r.integration,
                "granularity": r.granularity,
                "bucket": r.bucket,
                **dataclasses.asdict(r.counts),
                "latency_count": r.latency_count,
                "latency_sum": r.latency_sum,
                "latency_p50": r.latency_p50,
                "latency_p95": r.latency_p95,
                "latency_p99": r.latency_p99,
            }
            for r in rollups
        ]
        with self.engine.begin() as connection:
            for row in rows:  # replace: a bucket may be rolled up again after late results
                connection.execute(
                    delete(_U).where(
                        _U.c.integration == row["integration"],
                        _U.c.granularity == row["granularity"],
                        _U.c.bucket == row["bucket"],
                    )
                )
            connection.execute(insert(_U), rows)

    def rollups(
        self, integration: str, granularity: str, since: float, until: float
    ) -> list[Rollup]:
        query = (
            select(_U)
            .where(
                _U.c.integration == integration,
                _U.c.granularity == granularity,
                _U.c.bucket >= since,
                _U.c.bucket < until,
            )
            .order_by(_U.c.bucket)
        )
        with self.engine.connect() as connection:
            return [
                Rollup(
                    integration=row.integration,
                    granularity=row.granularity,
                    bucket=row.bucket,
                    counts=StatusCounts(
                        row.total, row.healthy, row.degraded, row.unhealthy, row.vendor_outage
                    ),
                    latency_count=row.latency_count,
                    latency_sum=row.latency_sum,
                    latency_p50=row.latency_p50,
                    latency_p95=row.latency_p95,
                    latency_p99=row.latency_p99,
                )
                for row in connection.execute(query)
            ]

    def delete_raw_before(self, moment: float) -> int:
        with self.engine.begin() as connection:
            return int(connection.execute(delete(_R).where(_R.c.checked_at < moment)).rowcount)

    def delete_rollups_before(self, granularity: str, moment: float) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(_U).where(_U.c.granularity == granularity, _U.c.bucket < moment)
            )

    def get_meta(self, key: str) -> float | None:
        with self.engine.connect() as connection:
            value = connection.execute(
                select(schema.meta.c.value).where(schema.meta.c.key == key)
            ).scalar_one_or_none()
            return float(value) if value is not None else None

    def set_meta(self, key: str, value: float) -> None:
        table = schema.meta
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(table).where(table.c.key == key).values(value=value)
            ).rowcount
            if not changed:
                connection.execute(insert(table).values(key=key, value=value))

    def add_audit(self, record: AuditRecord) -> None:
        row = record._asdict()
        row["key_name"] = row.pop("key")
        with self.engine.begin() as connection:
            connection.execute(insert(schema.audit_actions).values(**row))

    def audit(self, *, limit: int = 100, offset: int = 0) -> list[AuditRecord]:
        table = schema.audit_actions
        query = select(table).order_by(table.c.at.desc(), table.c.id.desc())
        with self.engine.connect() as connection:
            return [
                AuditRecord(
                    at=row.at,
                    key=row.key_name,
                    role=row.role,
                    client=row.client,
                    method=row.method,
                    path=row.path,
                    status=row.status,
                    duration_ms=row.duration_ms,
                )
                for row in connection.execute(query.limit(limit).offset(offset))
            ]
