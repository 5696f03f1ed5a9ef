"""The SQL store: SQLite (default; WAL mode) or PostgreSQL, with Alembic migrations at start."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import make_url

from atom_health.model.alerts import Alert, Delivery
from atom_health.model.audit import AuditRecord
from atom_health.model.history import CheckRecord, ConfigEvent, Incident, Rollup, StatusCounts
from atom_health.model.results import Status
from atom_health.store import schema
from atom_health.store.base import Store

_R = schema.check_results
_I = schema.incidents
_U = schema.rollups


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
        if connection.dialect.name == "postgresql":  # replicas starting together: one at a time
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
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

    def save_alert(self, alert: Alert) -> None:
        table = schema.alerts
        values = {
            "key": alert.key,
            "kind": alert.kind,
            "services": ",".join(alert.services),
            "severity": alert.severity,
            "route": alert.route,
            "title": alert.title,
            "message": alert.message,
            "opened_at": alert.opened_at,
            "resolved_at": alert.resolved_at,
        }
        with self.engine.begin() as connection:
            if alert.id is None:
                result = connection.execute(insert(table).values(**values).returning(table.c.id))
                alert.id = int(result.scalar_one())
            else:
                connection.execute(update(table).where(table.c.id == alert.id).values(**values))

    def add_delivery(self, delivery: Delivery) -> None:
        row = {
            "alert_id": delivery.alert_id,
            "notifier": delivery.notifier,
            "action": delivery.action,
            "attempt": delivery.attempt,
            "at": delivery.at,
            "ok": int(delivery.ok),
            "error": delivery.error,
        }
        with self.engine.begin() as connection:
            connection.execute(insert(schema.alert_deliveries).values(**row))

    def alerts(self, *, open_only: bool = False, limit: int = 100) -> list[Alert]:
        table = schema.alerts
        query = select(table).order_by(table.c.opened_at.desc()).limit(limit)
        if open_only:
            query = query.where(table.c.resolved_at.is_(None))
        with self.engine.connect() as connection:
            return [
                Alert(
                    key=row.key,
                    kind=row.kind,
                    services=row.services.split(",") if row.services else [],
                    severity=row.severity,
                    route=row.route,
                    title=row.title,
                    message=row.message,
                    opened_at=row.opened_at,
                    resolved_at=row.resolved_at,
                    id=row.id,
                )
                for row in connection.execute(query)
            ]

    def deliveries(self, alert_ids: Sequence[int]) -> list[Delivery]:
        table = schema.alert_deliveries
        query = select(table).where(table.c.alert_id.in_(list(alert_ids))).order_by(table.c.at)
        with self.engine.connect() as connection:
            return [
                Delivery(
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
        row = dataclasses.asdict(record)
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
