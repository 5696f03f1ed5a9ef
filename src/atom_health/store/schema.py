"""The SQL tables (SQLAlchemy Core). Changes to them go through an Alembic migration."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()
# BigInteger ids, but INTEGER on SQLite so they stay rowid aliases (auto-increment).
Id = BigInteger().with_variant(Integer(), "sqlite")

check_results = Table(
    "check_results",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("checked_at", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("category", String(32)),
    Column("latency_ms", Float),
    Column("http_status", Integer),
    Column("vendor_state", String(16)),
    Column("message", Text, nullable=False, default=""),
    Index("ix_check_results_integration_time", "integration", "checked_at"),
    Index("ix_check_results_checked_at", "checked_at"),  # maintenance: by time alone
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("worst_status", String(16), nullable=False),
    Column("category", String(32)),
    Column("message", Text, nullable=False, default=""),
    Index("ix_incidents_integration_start", "integration", "started_at"),
    Index("ix_incidents_ended", "ended_at"),
)

config_events = Table(
    "config_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("integration", String(100), nullable=False),
    Column("at", Float, nullable=False),
    Column("variable", String(200), nullable=False),
    Column("change", String(16), nullable=False),
    Index("ix_config_events_integration_at", "integration", "at"),
)

rollups = Table(
    "rollups",
    metadata,
    Column("integration", String(100), primary_key=True),
    Column("granularity", String(8), primary_key=True),
    Column("bucket", Float, primary_key=True),
    Column("total", Integer, nullable=False),
    Column("healthy", Integer, nullable=False),
    Column("degraded", Integer, nullable=False),
    Column("unhealthy", Integer, nullable=False),
    Column("vendor_outage", Integer, nullable=False),
    Column("latency_count", Integer, nullable=False),
    Column("latency_sum", Float, nullable=False),
    Column("latency_p50", Float),
    Column("latency_p95", Float),
    Column("latency_p99", Float),
)

meta = Table(
    "atom_health_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Float, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("services", Text, nullable=False),  # ",zoom,slack," so one LIKE finds a member
    Column("severity", String(16), nullable=False),
    Column("route", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("opened_at", Float, nullable=False),
    Column("resolved_at", Float),
    Column("last_sent_at", Float),
    Column("acknowledged_at", Float),
    Column("acknowledged_by", String(200)),
    Column("ack_comment", Text),
    Index("ix_alerts_opened", "opened_at"),
    Index("ix_alerts_resolved", "resolved_at"),
    # One open alert per key, whichever replica writes first: a second "opened" is refused.
    Index(
        "uq_alerts_open_key",
        "key",
        unique=True,
        sqlite_where=text("resolved_at IS NULL"),
        postgresql_where=text("resolved_at IS NULL"),
    ),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alert_id", Id, nullable=False),
    Column("notifier", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("error", Text),
    Column("notification_id", Id),
    Index("ix_alert_deliveries_alert", "alert_id"),
    Index("ix_alert_deliveries_notification", "notification_id"),
)

# The outbox: one row per alert event and notifier, written with the state change.
alert_notifications = Table(
    "alert_notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alert_id", Id, nullable=False),
    Column("notifier", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("delivered_at", Float),
    Column("last_error", Text),
    Column("claimed_by", String(64)),  # the process sending it now, until claimed_until
    Column("claimed_until", Float),
    Index("ix_alert_notifications_state", "state", "id"),
    Index("ix_alert_notifications_alert", "alert_id"),
)

# What the rules remember per integration (counters, flapping window, missing variables).
alert_rule_state = Table(
    "alert_rule_state",
    metadata,
    Column("integration", String(100), primary_key=True),
    Column("state", Text, nullable=False),
)

alert_silences = Table(
    "alert_silences",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("integrations", Text, nullable=False),
    Column("starts_at", Float, nullable=False),
    Column("ends_at", Float, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_alert_silences_ends", "ends_at"),
)

# Maintenance windows added at run time (the config file's are read from the file). The window
# is the JSON of :class:`~atom_health.config.alerting.MaintenanceWindow`; ids are never reused
# (SQLite AUTOINCREMENT), so a deleted window's id never names another.
maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("spec", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    sqlite_autoincrement=True,
)

audit_actions = Table(
    "audit_actions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("key_name", String(64), nullable=False),
    Column("role", String(16)),
    Column("client", String(64), nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", String(2000), nullable=False),
    Column("status", Integer, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Index("ix_audit_actions_at", "at"),
)
