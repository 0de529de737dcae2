"""Items carry a picture: an http(s) address or a path inside the media folder.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("image", sa.String(2048)))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("image")
