"""Table definitions (SQLAlchemy Core). Migrations in ``migrations/`` create exactly these."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
SequenceKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

items = sa.Table(
    "items",
    metadata,
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
    sa.Column("image", sa.String(2048)),  # an http(s) address or a path in the media folder
    sa.Index("ix_items_updated_at", "updated_at"),  # workers read the catalog's changes by it
)

# ids of deleted items, so every worker can drop them from its catalog (an item written again
# loses its row here)
item_deletions = sa.Table(
    "item_deletions",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("deleted_at", sa.Double, nullable=False),
    sa.Index("ix_item_deletions_deleted_at", "deleted_at"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("age", sa.Integer),
    sa.Column("gender", sa.String(64)),
    sa.Column("occupation", sa.String(255)),
    sa.Column("location", sa.String(255)),
    sa.Column("interests", sa.Text),
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", SequenceKey, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(255), unique=True),
    sa.Column("user_id", sa.String(255), nullable=False),
    sa.Column("item_id", sa.String(255), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("value", sa.Double),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("context", sa.JSON, nullable=False),
    sa.Column("received_at", sa.Double, nullable=False),
    # covers the page's history read (latest events by ts, seq): no table lookups
    sa.Index("ix_events_user_history", "user_id", "ts", "seq", "item_id", "type", "value"),
    # covers the live popularity and exposure reads (per item: types, times, users)
    sa.Index("ix_events_item", "item_id", "type", "ts", "user_id"),
    sa.Index("ix_events_ts", "ts"),
)

_IN_EXPERIMENT = sa.text("experiment IS NOT NULL")

impressions = sa.Table(
    "impressions",
    metadata,
    sa.Column("seq", SequenceKey, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(255), nullable=False),
    sa.Column("item_id", sa.String(255), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("section", sa.String(255), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(64)),
    sa.Column("ts", sa.Double, nullable=False),
    sa.Column("experiment", sa.String(64)),  # the A/B experiment and arm the page was built in
    sa.Column("arm", sa.String(64)),
    sa.Index("ix_impressions_user_ts", "user_id", "ts"),
    # only pages built in an experiment: the report reads those (migration 0009)
    sa.Index(
        "ix_impressions_experiment",
        "experiment",
        "arm",
        sqlite_where=_IN_EXPERIMENT,
        postgresql_where=_IN_EXPERIMENT,
    ),
    sa.Index("ix_impressions_request", "request_id"),
)

DAY = 86_400  # seconds: the bucket of the impression counts per item

# impressions per item and day, kept by the impression writer in the same transaction, so the
# live exposure counts read a few rows per item instead of grouping the whole impression log
item_impressions = sa.Table(
    "item_impressions",
    metadata,
    sa.Column("item_id", sa.String(255), primary_key=True),
    sa.Column("day", sa.Integer, primary_key=True),  # floor(ts / DAY)
    sa.Column("shown", sa.Integer, nullable=False),
)

text_embeddings = sa.Table(
    "text_embeddings",
    metadata,
    sa.Column("model_id", sa.String(255), primary_key=True),
    sa.Column("text_sha256", sa.String(64), primary_key=True),
    sa.Column("dimension", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
)

promotions = sa.Table(
    "promotions",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("item_id", sa.String(255), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("label", sa.String(255), nullable=False),
    sa.Column("starts_at", sa.Double),
    sa.Column("ends_at", sa.Double),
    sa.Column("updated_at", sa.Double, nullable=False),
)


def follows_impression(event_types: Collection[str], window_seconds: float) -> sa.ColumnElement[bool]:
    """The attribution rule, one for the A/B report and the exploration bandit: an event of
    ``event_types`` by the impression's user on its item, at most ``window_seconds`` after it
    (a condition correlating ``events`` with ``impressions``)."""
    return sa.and_(
        events.c.user_id == impressions.c.user_id,
        events.c.item_id == impressions.c.item_id,
        events.c.ts >= impressions.c.ts,
        events.c.ts <= impressions.c.ts + window_seconds,
        events.c.type.in_(list(event_types)),
    )


def count_followed(types: Collection[str], window_seconds: float) -> sa.ColumnElement[int]:
    """In a query grouping impressions: how many were followed by an event of ``types`` by the
    same user on the same item within ``window_seconds`` (the attribution rule)."""
    later = sa.select(events.c.seq).where(follows_impression(types, window_seconds)).exists()
    return sa.func.sum(sa.case((later, 1), else_=0))


# imports being merged into the store: validated rows wait in a staging file of their own and
# are written in short transactions; the progress commits with each chunk, so an import killed
# midway is finished exactly once by the next start (see homefeed.datasets.importer)
imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("staging", sa.Text, nullable=False),  # the staging file's path
    sa.Column("kind", sa.String(16), nullable=False),  # items, users or events: the part merging
    sa.Column("merged", sa.BigInteger, nullable=False),  # rows of that part already written
    sa.Column("started_at", sa.Double, nullable=False),
)

# every training run: who started it, over which events, how long it took and how it ended
training_runs = sa.Table(
    "training_runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("trigger", sa.String(16), nullable=False),  # manual or scheduled
    sa.Column("status", sa.String(16), nullable=False),  # running, succeeded or failed
    sa.Column("started_at", sa.Double, nullable=False),
    sa.Column("finished_at", sa.Double),
    sa.Column("version", sa.String(64)),
    sa.Column("events", sa.BigInteger),
    sa.Column("data_from", sa.Double),  # the oldest and newest event trained on
    sa.Column("data_to", sa.Double),
    sa.Column("error", sa.Text),
    sa.Index("ix_training_runs_started_at", "started_at"),
)

# A/B experiments started and stopped at run time (or declared in the settings): the arms, as
# JSON, fixed once started (a user's arm is a hash of the name and the user id)
experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("arms", sa.JSON, nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),  # api (started at run time) or settings
    sa.Column("status", sa.String(16), nullable=False),  # running or stopped
    sa.Column("started_at", sa.Double, nullable=False),
    sa.Column("stopped_at", sa.Double),
)

# the first page each user was shown in each experiment, and their arm: a report counts a
# user's impressions from then until the experiment stopped
experiment_exposures = sa.Table(
    "experiment_exposures",
    metadata,
    sa.Column("experiment", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(255), primary_key=True),
    sa.Column("arm", sa.String(64), nullable=False),
    sa.Column("first_seen", sa.Double, nullable=False),
)

# API keys and token-signing secrets created at run time (`homefeed keys`): every worker reads
# the active ones within seconds, so keys are added, rotated and revoked without a restart.
# Keys are kept as SHA-256 hashes; a signing secret is kept as is (the server must sign with it).
credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # admin, client or signing
    sa.Column("secret", sa.String(128), nullable=False),  # a key's hash, or a signing secret
    sa.Column("label", sa.String(255), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("revoked_at", sa.Double),
)

# every write or deletion of a user, in order: each worker reads the new rows and drops what it
# caches about those users (profiles, ignored items, scroll sessions, interest texts)
user_changes = sa.Table(
    "user_changes",
    metadata,
    sa.Column("seq", SequenceKey, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(255), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Index("ix_user_changes_at", "at"),
    sa.Index("ix_user_changes_user", "user_id", "at"),  # was this user deleted since? (log_pages)
)
