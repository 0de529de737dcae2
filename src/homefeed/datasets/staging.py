"""Validated rows of one import, waiting in a SQLite file of their own: reading and checking a
large file holds no lock on the store; the rows are then merged in short transactions."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from homefeed.datasets.event_rows import StagedEvent
from homefeed.domain import Item, User

KINDS = ("items", "users", "events")  # the order of the merge: events may point at new items
_EVENT_COLUMNS = ("event_id", "user_id", "item_id", "type", "value", "timestamp", "context")


class StagingFile:
    """Rows by kind, in the order they were read (``n`` counts within a kind). Events, by far
    the most rows, are kept as columns; items and users as their JSON. Rows were validated
    before they were staged, so they are rebuilt without validating them again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=OFF")  # a crash while staging discards the file
        self._db.execute("PRAGMA synchronous=OFF")  # made durable at once by ``seal``
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS rows (kind TEXT NOT NULL, n INTEGER NOT NULL, body TEXT NOT NULL, "
            "PRIMARY KEY (kind, n)) WITHOUT ROWID"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS events (n INTEGER PRIMARY KEY, event_id TEXT, user_id TEXT, "
            "item_id TEXT, type TEXT, value REAL, timestamp REAL, context TEXT)"
        )
        self._counts = {kind: self.count(kind) for kind in KINDS}

    def add(self, kind: str, rows: Sequence[Item] | Sequence[User]) -> None:
        """Items or users, as their JSON."""
        start = self._counts[kind]
        self._db.executemany(
            "INSERT INTO rows (kind, n, body) VALUES (?, ?, ?)",
            [(kind, start + offset, row.model_dump_json()) for offset, row in enumerate(rows)],
        )
        self._counts[kind] = start + len(rows)

    def add_events(self, rows: Sequence[StagedEvent]) -> None:
        start = self._counts["events"]
        self._db.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(start + offset, *row) for offset, row in enumerate(rows)],
        )
        self._counts["events"] = start + len(rows)

    def seal(self) -> None:
        """Make what was staged durable before the merge begins (a resumed merge reads it)."""
        self._db.commit()
        with self.path.open("rb+") as handle:
            os.fsync(handle.fileno())

    def count(self, kind: str) -> int:
        query = (
            "SELECT COUNT(*) FROM events" if kind == "events" else "SELECT COUNT(*) FROM rows WHERE kind = ?"
        )
        found = self._db.execute(query, () if kind == "events" else (kind,)).fetchone()
        return int(found[0])

    def read(self, kind: str, start: int, size: int) -> list[Any]:
        """Up to ``size`` rows of ``kind`` from the ``start``-th on: items and users as models,
        events as the store's bulk rows (``store.bulk.EventRow``); none past the end."""
        if kind == "events":
            found = self._db.execute(
                f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events WHERE n >= ? ORDER BY n LIMIT ?",
                (start, size),
            ).fetchall()
            return [(*values[:6], values[6] or "{}") for values in found]
        model = Item if kind == "items" else User
        found = self._db.execute(
            "SELECT body FROM rows WHERE kind = ? AND n >= ? ORDER BY n LIMIT ?", (kind, start, size)
        ).fetchall()
        return [model.model_construct(**json.loads(body)) for (body,) in found]

    def remove(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)
