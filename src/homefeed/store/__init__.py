"""Persistence: SQLite by default, PostgreSQL by URL, one schema managed by Alembic."""

from homefeed.store.migrate import migrate
from homefeed.store.scratch import scratch_database
from homefeed.store.store import Store, create_store_engine

__all__ = ["Store", "create_store_engine", "migrate", "scratch_database"]
