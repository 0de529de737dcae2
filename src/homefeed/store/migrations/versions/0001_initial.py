"""Initial schema: items, users, events, impressions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SequenceKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("category", sa.String(255)),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("creator", sa.String(255)),
        sa.Column("published_at", sa.Double),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("age", sa.Integer),
        sa.Column("gender", sa.String(64)),
        sa.Column("occupation", sa.String(255)),
        sa.Column("location", sa.String(255)),
        sa.Column("interests", sa.Text),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("seq", SequenceKey, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(255), unique=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("item_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("ts", sa.Double, nullable=False),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("received_at", sa.Double, nullable=False),
    )
    op.create_index("ix_events_user_ts", "events", ["user_id", "ts"])
    op.create_index("ix_events_item", "events", ["item_id"])
    op.create_table(
        "impressions",
        sa.Column("seq", SequenceKey, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("item_id", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("section", sa.String(255), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(64)),
        sa.Column("ts", sa.Double, nullable=False),
    )
    op.create_index("ix_impressions_user_ts", "impressions", ["user_id", "ts"])
    op.create_index("ix_impressions_request", "impressions", ["request_id"])


def downgrade() -> None:
    op.drop_table("impressions")
    op.drop_table("events")
    op.drop_table("users")
    op.drop_table("items")
