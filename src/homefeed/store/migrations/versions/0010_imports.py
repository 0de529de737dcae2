"""Imports merge in short transactions: the progress of each one being merged.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("staging", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("merged", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.Double, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("imports")
