"""Catalog changes readable by every worker: items by update time, and deleted items' ids.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_updated_at", "items", ["updated_at"])
    op.create_table(
        "item_deletions",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("deleted_at", sa.Double, nullable=False),
    )
    op.create_index("ix_item_deletions_deleted_at", "item_deletions", ["deleted_at"])


def downgrade() -> None:
    op.drop_table("item_deletions")
    op.drop_index("ix_items_updated_at", "items")
