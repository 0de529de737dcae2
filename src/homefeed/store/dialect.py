"""The few statements SQLite and PostgreSQL spell differently: inserts with ``ON CONFLICT``, and
the day of a timestamp."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert(connection: sa.Connection, table: sa.Table) -> Any:
    """An INSERT for the connection's dialect that takes ``on_conflict_do_*``."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database dialect {connection.dialect.name!r}")


def upsert(
    connection: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    update_columns: Sequence[str],
    key: Sequence[str] = ("id",),
) -> None:
    """Insert ``rows``, replacing ``update_columns`` of rows whose ``key`` exists."""
    if not rows:
        return
    statement = insert(connection, table)
    statement = statement.on_conflict_do_update(
        index_elements=list(key), set_={name: statement.excluded[name] for name in update_columns}
    )
    connection.execute(statement, list(rows))


def day_of(dialect: str, seconds: sa.ColumnElement[float]) -> sa.ColumnElement[int]:
    """The UTC day number (``floor(seconds / 86400)``) of an epoch-seconds column."""
    return bucket_of(dialect, seconds, 86_400)


def bucket_of(dialect: str, seconds: sa.ColumnElement[float], width: float) -> sa.ColumnElement[int]:
    """``floor(seconds / width)`` of an epoch-seconds column: SQLite's CAST truncates (the same
    for the times after 1970 an event has), PostgreSQL's rounds."""
    buckets = seconds / width
    if dialect == "postgresql":
        return sa.cast(sa.func.floor(buckets), sa.BigInteger)
    return sa.cast(buckets, sa.BigInteger)
