"""Experiments started and stopped at run time, several at once, and each user's exposure.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("arms", sa.JSON, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("stopped_at", sa.Double),
    )
    op.create_table(
        "experiment_exposures",
        sa.Column("experiment", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("first_seen", sa.Double, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("experiment_exposures")
    op.drop_table("experiments")
