"""Persistence: SQLite by default, PostgreSQL by URL, one schema managed by Alembic."""

from homefeed.store.logs import Logs, StoredEvent
from homefeed.store.migrate import migrate
from homefeed.store.scratch import scratch_database
from homefeed.store.store import Store, create_store_engine

__all__ = ["Logs", "Store", "StoredEvent", "create_store_engine", "migrate", "scratch_database"]
