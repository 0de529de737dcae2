"""Every write or deletion of a user, in order, for each worker to drop its caches of them.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SequenceKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "user_changes",
        sa.Column("seq", SequenceKey, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("at", sa.Double, nullable=False),
    )
    op.create_index("ix_user_changes_at", "user_changes", ["at"])


def downgrade() -> None:
    op.drop_index("ix_user_changes_at", table_name="user_changes")
    op.drop_table("user_changes")
