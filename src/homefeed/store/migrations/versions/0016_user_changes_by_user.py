"""User changes found by user: the impression writer asks, for each batch of pages, whether
their users were deleted since, and without this index that read scanned every change (500,000
rows after importing half a million users, about once a second under load).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_user_changes_user", "user_changes", ["user_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_user_changes_user", table_name="user_changes")
