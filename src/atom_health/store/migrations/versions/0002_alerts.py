"""Alerts and their delivery attempts.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("services", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("resolved_at", sa.Float),
    )
    op.create_index("ix_alerts_opened", "alerts", ["opened_at"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("alert_id", Id, nullable=False),
        sa.Column("notifier", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("ok", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_alert_deliveries_alert", "alert_deliveries", ["alert_id"])


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_table("alerts")
