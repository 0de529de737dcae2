"""Impressions record the A/B experiment and arm their page was built in.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("impressions", sa.Column("experiment", sa.String(64)))
    op.add_column("impressions", sa.Column("arm", sa.String(64)))
    op.create_index("ix_impressions_experiment", "impressions", ["experiment", "arm"])


def downgrade() -> None:
    op.drop_index("ix_impressions_experiment", table_name="impressions")
    with op.batch_alter_table("impressions") as batch:
        batch.drop_column("arm")
        batch.drop_column("experiment")
