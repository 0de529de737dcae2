"""The bulk path of an import: validated event rows written without building a model or a
parameter dictionary per row. PostgreSQL copies them (``COPY``) into a temporary table and
inserts from it; SQLite inserts them in one ``executemany``. Ids already stored are skipped by
the unique index itself (``ON CONFLICT DO NOTHING``), never looked up first: during a large
import PostgreSQL's statistics still say the table is small, and each lookup scanned it whole
(the import grew quadratically: 200,000 events took over 10 minutes).

A large import into a table not much larger than itself is merged without the events' read
indexes (each row would otherwise dirty a random page of each index: on SQLite a 1M-event merge
took 41 s with them and 8 s + 3 s to rebuild them); they are built again at the merge's end, and
by whichever process finishes a merge that was stopped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from homefeed.store.schema import events

# an event row as staged: (event_id, user_id, item_id, type, value, timestamp, context as JSON text)
EventRow = tuple[str | None, str, str, str, float | None, float, str]
COLUMNS = "event_id, user_id, item_id, type, value, ts, context, received_at"


def write_event_rows(connection: sa.Connection, rows: Sequence[EventRow], received_at: float) -> int:
    """Insert ``rows`` in the connection's transaction, skipping ids already stored; returns
    how many were inserted."""
    if not rows:
        return 0
    if connection.dialect.name == "postgresql":
        return _copy(connection, rows, received_at)
    placeholders = ", ".join("?" * 8)
    result = connection.exec_driver_sql(
        f"INSERT INTO events ({COLUMNS}) VALUES ({placeholders}) ON CONFLICT (event_id) DO NOTHING",
        [(*row, received_at) for row in rows],
    )
    return int(result.rowcount)


def ensure_user_ids(connection: sa.Connection, user_ids: Sequence[str], updated_at: float) -> None:
    """Create a bare user for each id not stored yet (one statement; profiles are left alone)."""
    if not user_ids:
        return
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "INSERT INTO users (id, attributes, updated_at) SELECT unnest(%(ids)s::text[]), "
            "CAST('{}' AS JSON), %(at)s ON CONFLICT (id) DO NOTHING",
            {"ids": list(user_ids), "at": updated_at},
        )
        return
    connection.exec_driver_sql(
        "INSERT INTO users (id, attributes, updated_at) VALUES (?, '{}', ?) ON CONFLICT (id) DO NOTHING",
        [(user_id, updated_at) for user_id in user_ids],
    )


def _copy(connection: sa.Connection, rows: Sequence[EventRow], received_at: float) -> int:
    driver: Any = connection.connection.driver_connection  # psycopg's, in this transaction
    with driver.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS staged_events (event_id TEXT, user_id TEXT, "
            "item_id TEXT, type TEXT, value DOUBLE PRECISION, ts DOUBLE PRECISION, context TEXT, "
            "received_at DOUBLE PRECISION) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY staged_events ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, received_at))
        cursor.execute(
            f"INSERT INTO events ({COLUMNS}) SELECT event_id, user_id, item_id, type, value, ts, "
            "CAST(context AS JSON), received_at FROM staged_events ON CONFLICT (event_id) DO NOTHING"
        )
        inserted = int(cursor.rowcount)
        cursor.execute("TRUNCATE staged_events")
    return inserted


def read_indexes() -> list[sa.Index]:
    """The events' indexes that serve reads only (histories, item and time scans); the unique
    index on ``event_id`` stays, since it is what skips a repeated id."""
    return sorted((index for index in events.indexes if not index.unique), key=lambda index: str(index.name))


def drop_read_indexes(connection: sa.Connection) -> None:
    for index in read_indexes():
        index.drop(connection, checkfirst=True)


def build_read_indexes(connection: sa.Connection) -> None:
    """Create whichever read index is missing (none missing: nothing happens)."""
    for index in read_indexes():
        index.create(connection, checkfirst=True)


def stored_events_estimate(connection: sa.Connection) -> int:
    """About how many events are stored (the highest sequence number: no count of the table)."""
    return int(connection.execute(sa.select(sa.func.max(events.c.seq))).scalar_one() or 0)
