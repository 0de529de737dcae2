"""Run the Alembic migrations shipped inside the package against an engine."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


MIGRATION_LOCK = 7_351_146  # PostgreSQL advisory lock key: one migrating process at a time
ATTEMPTS = 4


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent: an up-to-date schema is left alone).

    Several processes may start on one new database at once (``serve --workers 2``). On
    PostgreSQL they queue on an advisory lock; on SQLite a process that finds the other's
    tables appearing under it retries, and then finds nothing left to do."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
            return
        except sa.exc.OperationalError:
            if attempt == ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    inspector = sa.inspect(engine)
    if not inspector.has_table("alembic_version"):
        return None
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
