"""Durable alert state: reminder schedule and acknowledgements on alerts, the rules' memory,
the notification outbox (attempts point at their notification) and silences.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("alerts") as alerts:
        alerts.add_column(sa.Column("last_sent_at", sa.Float))
        alerts.add_column(sa.Column("acknowledged_at", sa.Float))
        alerts.add_column(sa.Column("acknowledged_by", sa.String(200)))
        alerts.add_column(sa.Column("ack_comment", sa.Text))
    op.create_index("ix_alerts_resolved", "alerts", ["resolved_at"])
    # Alert state lived in memory: each restart during an outage opened the same key again,
    # and the earlier rows never resolved. Keep the newest open row per key, close the others.
    op.execute(
        "UPDATE alerts SET resolved_at = opened_at WHERE resolved_at IS NULL AND EXISTS "
        "(SELECT 1 FROM alerts AS newer WHERE newer.key = alerts.key "
        "AND newer.resolved_at IS NULL AND newer.id > alerts.id)"
    )
    op.create_index(
        "uq_alerts_open_key",
        "alerts",
        ["key"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    # Members were stored "a,b"; now ",a,b," so one LIKE finds a member.
    op.execute("UPDATE alerts SET services = ',' || services || ',' WHERE services <> ''")
    with op.batch_alter_table("alert_deliveries") as deliveries:
        deliveries.add_column(sa.Column("notification_id", Id))
    op.create_index("ix_alert_deliveries_notification", "alert_deliveries", ["notification_id"])
    op.create_table(
        "alert_notifications",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("alert_id", Id, nullable=False),
        sa.Column("notifier", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", sa.Float),
    )
    op.create_index("ix_alert_notifications_state", "alert_notifications", ["state", "id"])
    op.create_index("ix_alert_notifications_alert", "alert_notifications", ["alert_id"])
    op.create_table(
        "alert_rule_state",
        sa.Column("integration", sa.String(100), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
    )
    op.create_table(
        "alert_silences",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("integrations", sa.Text, nullable=False),
        sa.Column("starts_at", sa.Float, nullable=False),
        sa.Column("ends_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_alert_silences_ends", "alert_silences", ["ends_at"])


def downgrade() -> None:
    op.drop_table("alert_silences")
    op.drop_table("alert_rule_state")
    op.drop_table("alert_notifications")
    op.drop_index("ix_alert_deliveries_notification", "alert_deliveries")
    with op.batch_alter_table("alert_deliveries") as deliveries:
        deliveries.drop_column("notification_id")
    op.execute(
        "UPDATE alerts SET services = substr(services, 2, length(services) - 2) "
        "WHERE services <> ''"
    )
    op.drop_index("uq_alerts_open_key", "alerts")
    op.drop_index("ix_alerts_resolved", "alerts")
    with op.batch_alter_table("alerts") as alerts:
        for column in ("ack_comment", "acknowledged_by", "acknowledged_at", "last_sent_at"):
            alerts.drop_column(column)
