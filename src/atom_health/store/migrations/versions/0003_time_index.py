"""An index on check_results.checked_at: maintenance reads and prunes by time alone.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_check_results_checked_at", "check_results", ["checked_at"])


def downgrade() -> None:
    op.drop_index("ix_check_results_checked_at", table_name="check_results")
