"""Training runs as recorded (table ``training_runs``) and the lock that lets one run at a time
across every process sharing the store: a PostgreSQL advisory lock, or a file lock beside the
SQLite database (one machine)."""

from __future__ import annotations

import fcntl
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from homefeed.store.schema import events, training_runs


@dataclass(frozen=True)
class TrainingRun:
    id: str
    trigger: str
    status: str
    started_at: float
    finished_at: float | None
    version: str | None
    events: int | None
    data_from: float | None
    data_to: float | None
    error: str | None

    @property
    def seconds(self) -> float | None:
        return self.finished_at - self.started_at if self.finished_at is not None else None


def start(engine: sa.Engine, trigger: str) -> str:
    run_id = uuid.uuid4().hex
    with engine.begin() as connection:
        connection.execute(
            sa.insert(training_runs).values(
                id=run_id, trigger=trigger, status="running", started_at=time.time()
            )
        )
    return run_id


def finish(
    engine: sa.Engine,
    run_id: str,
    status: str,
    version: str | None = None,
    n_events: int | None = None,
    window: tuple[float | None, float | None] = (None, None),
    error: str | None = None,
) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.update(training_runs)
            .where(training_runs.c.id == run_id)
            .values(
                status=status,
                finished_at=time.time(),
                version=version,
                events=n_events,
                data_from=window[0],
                data_to=window[1],
                error=error,
            )
        )


def recent(engine: sa.Engine, limit: int = 20) -> list[TrainingRun]:
    """The latest runs, newest first."""
    query = sa.select(training_runs).order_by(training_runs.c.started_at.desc()).limit(limit)
    with engine.connect() as connection:
        return [TrainingRun(**row) for row in connection.execute(query).mappings()]


def last_started(engine: sa.Engine) -> float | None:
    """When the latest run started (any outcome), or None before the first."""
    with engine.connect() as connection:
        found = connection.execute(sa.select(sa.func.max(training_runs.c.started_at))).scalar()
    return float(found) if found is not None else None


def event_window(engine: sa.Engine) -> tuple[float | None, float | None]:
    """The oldest and newest event's time (the data a run reads)."""
    with engine.connect() as connection:
        oldest, newest = connection.execute(
            sa.select(sa.func.min(events.c.ts), sa.func.max(events.c.ts))
        ).one()
    return (float(oldest) if oldest is not None else None, float(newest) if newest is not None else None)


@contextmanager
def exclusive(engine: sa.Engine, name: str, folder: Path) -> Iterator[bool]:
    """Try to take the lock ``name`` for the duration of the block; yields whether it was
    taken (without waiting). PostgreSQL: a session advisory lock; SQLite: ``folder/name.lock``."""
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"homefeed:{name}".encode())
        with engine.connect() as connection:
            taken = bool(connection.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar())
            try:
                yield taken
            finally:
                if taken:
                    connection.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                connection.rollback()
        return
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.lock").open("a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
