"""Every training run recorded: trigger, status, data window, duration, version.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("finished_at", sa.Double),
        sa.Column("version", sa.String(64)),
        sa.Column("events", sa.BigInteger),
        sa.Column("data_from", sa.Double),
        sa.Column("data_to", sa.Double),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_training_runs_started_at", "training_runs", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_training_runs_started_at", table_name="training_runs")
    op.drop_table("training_runs")
