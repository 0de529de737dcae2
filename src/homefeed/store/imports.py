"""The progress of imports being merged into the store, one row each (table ``imports``): the
part being written and how many of its rows are in. It is updated in the same transaction as
each chunk it counts, so a merge resumed after a crash starts exactly where the last one ended."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from homefeed.store.schema import imports


@dataclass(frozen=True)
class ImportProgress:
    id: str
    staging: str
    kind: str
    merged: int


def begin(engine: sa.Engine, import_id: str, staging: str, kind: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.insert(imports).values(
                id=import_id, staging=staging, kind=kind, merged=0, started_at=time.time()
            )
        )


def advance(connection: sa.Connection, import_id: str, kind: str, merged: int) -> None:
    """Record, inside the chunk's own transaction, that ``merged`` rows of ``kind`` are in."""
    connection.execute(sa.update(imports).where(imports.c.id == import_id).values(kind=kind, merged=merged))


def finish(engine: sa.Engine, import_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.delete(imports).where(imports.c.id == import_id))


def pending(engine: sa.Engine) -> list[ImportProgress]:
    """Imports whose merge began and did not end (their process was stopped midway)."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(imports).order_by(imports.c.started_at)).mappings()
        return [ImportProgress(row["id"], row["staging"], row["kind"], int(row["merged"])) for row in rows]
