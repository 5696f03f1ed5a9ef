"""History tables: check results, incidents, configuration events, rollups, meta.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(100), nullable=False),
        sa.Column("checked_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32)),
        sa.Column("latency_ms", sa.Float),
        sa.Column("http_status", sa.Integer),
        sa.Column("vendor_state", sa.String(16)),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_check_results_integration_time", "check_results", ["integration", "checked_at"]
    )
    op.create_table(
        "incidents",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(100), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("worst_status", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32)),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_incidents_integration_start", "incidents", ["integration", "started_at"])
    op.create_index("ix_incidents_ended", "incidents", ["ended_at"])
    op.create_table(
        "config_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(100), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("variable", sa.String(200), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
    )
    op.create_index("ix_config_events_integration_at", "config_events", ["integration", "at"])
    op.create_table(
        "rollups",
        sa.Column("integration", sa.String(100), primary_key=True),
        sa.Column("granularity", sa.String(8), primary_key=True),
        sa.Column("bucket", sa.Float, primary_key=True),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("healthy", sa.Integer, nullable=False),
        sa.Column("degraded", sa.Integer, nullable=False),
        sa.Column("unhealthy", sa.Integer, nullable=False),
        sa.Column("vendor_outage", sa.Integer, nullable=False),
        sa.Column("latency_count", sa.Integer, nullable=False),
        sa.Column("latency_sum", sa.Float, nullable=False),
        sa.Column("latency_p50", sa.Float),
        sa.Column("latency_p95", sa.Float),
        sa.Column("latency_p99", sa.Float),
    )
    op.create_table(
        "atom_health_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("atom_health_meta", "rollups", "config_events", "incidents", "check_results"):
        op.drop_table(table)
