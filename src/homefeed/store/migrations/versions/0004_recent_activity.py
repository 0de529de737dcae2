"""Indexes by time for the live aggregates: trending items and item exposure.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_ts", "events", ["ts"])
    op.create_index("ix_impressions_ts", "impressions", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_impressions_ts", table_name="impressions")
    op.drop_index("ix_events_ts", table_name="events")
