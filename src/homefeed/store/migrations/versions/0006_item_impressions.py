"""Impressions counted per item and day, for the live exposure counts (backfilled from the log).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_impressions",
        sa.Column("item_id", sa.String(255), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("shown", sa.Integer, nullable=False),
    )
    # SQLite truncates a cast towards zero (ts is positive: the floor); PostgreSQL rounds
    day = "CAST(ts / 86400 AS INTEGER)"
    if op.get_bind().dialect.name == "postgresql":
        day = "CAST(floor(ts / 86400) AS INTEGER)"
    op.execute(
        f"INSERT INTO item_impressions (item_id, day, shown) "
        f"SELECT item_id, {day}, COUNT(*) FROM impressions GROUP BY item_id, {day}"
    )


def downgrade() -> None:
    op.drop_table("item_impressions")
