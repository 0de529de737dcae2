"""Validated rows of one import, waiting in a SQLite file of their own: reading and checking a
large file holds no lock on the store; the rows are then merged in short transactions."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel

KINDS = ("items", "users", "events")  # the order of the merge: events may point at new items


class StagingFile:
    """Rows by kind, in the order they were read (``n`` counts within a kind)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=OFF")  # a crash while staging discards the file
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS rows (kind TEXT NOT NULL, n INTEGER NOT NULL, body TEXT NOT NULL, "
            "PRIMARY KEY (kind, n)) WITHOUT ROWID"
        )
        self._counts = {kind: self.count(kind) for kind in KINDS}

    def add(self, kind: str, rows: Sequence[BaseModel]) -> None:
        start = self._counts[kind]
        self._db.executemany(
            "INSERT INTO rows (kind, n, body) VALUES (?, ?, ?)",
            [(kind, start + offset, row.model_dump_json()) for offset, row in enumerate(rows)],
        )
        self._counts[kind] = start + len(rows)

    def seal(self) -> None:
        """Make what was staged durable before the merge begins (a resumed merge reads it)."""
        self._db.commit()
        with self.path.open("rb+") as handle:
            os.fsync(handle.fileno())

    def count(self, kind: str) -> int:
        found = self._db.execute("SELECT COUNT(*) FROM rows WHERE kind = ?", (kind,)).fetchone()
        return int(found[0])

    def chunks(self, kind: str, start: int, size: int) -> Iterator[list[str]]:
        """The rows of ``kind`` from the ``start``-th on, ``size`` at a time (JSON bodies)."""
        while True:
            found = self._db.execute(
                "SELECT body FROM rows WHERE kind = ? AND n >= ? ORDER BY n LIMIT ?", (kind, start, size)
            ).fetchall()
            if not found:
                return
            yield [body for (body,) in found]
            start += len(found)

    def remove(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)
