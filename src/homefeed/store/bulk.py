"""The bulk path of an import: validated event rows written without building a model or a
parameter dictionary per row. PostgreSQL copies them (``COPY``) into a temporary table and
inserts from it, skipping ids already stored; SQLite inserts them in one ``executemany``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

# an event row as staged: (event_id, user_id, item_id, type, value, timestamp, context as JSON text)
EventRow = tuple[str | None, str, str, str, float | None, float, str]
COLUMNS = "event_id, user_id, item_id, type, value, ts, context, received_at"


def write_event_rows(connection: sa.Connection, rows: Sequence[EventRow], received_at: float) -> None:
    """Insert ``rows`` in the connection's transaction; an id stored meanwhile is skipped."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        _copy(connection, rows, received_at)
        return
    placeholders = ", ".join("?" * 8)
    connection.exec_driver_sql(
        f"INSERT INTO events ({COLUMNS}) VALUES ({placeholders}) ON CONFLICT (event_id) DO NOTHING",
        [(*row, received_at) for row in rows],
    )


def _copy(connection: sa.Connection, rows: Sequence[EventRow], received_at: float) -> None:
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
        cursor.execute("TRUNCATE staged_events")
