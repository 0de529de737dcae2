"""Bulk import in two steps: every row validated first, then all rows written.

1. *Staging.* Each row is validated (the first bad one raises a :class:`RowError` naming file,
   line and column) and kept in a staging file of its own. Nothing is written to the store, and
   no lock on it is held however long the file takes to read: an import that fails here, or is
   stopped, leaves nothing.
2. *Merge.* The staged rows are written in transactions of ``merge_chunk`` rows (items, then
   users, then events), each recording its progress in the store's ``imports`` table, so the
   store's write lock is never held for longer than one chunk (events posted meanwhile wait
   milliseconds, not the whole import). An import stopped during its merge is finished,
   exactly once, by the next import or the next start of the service.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from homefeed.datasets.records import Record
from homefeed.datasets.staging import KINDS, StagingFile
from homefeed.domain import Event, Item, User
from homefeed.errors import RowError
from homefeed.events import EventWindow
from homefeed.store import Store, imports
from homefeed.store.imports import ImportProgress

logger = logging.getLogger(__name__)
DEFAULT_FUTURE_SECONDS = 600.0  # Settings.event_max_future_seconds's default
ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")
ProgressCallback = Callable[[str, int], None]


@dataclass(frozen=True)
class ImportSummary:
    """What one import wrote."""

    items: int = 0
    users: int = 0
    events: int = 0
    duplicate_events: int = 0


def validate_record(record: Record, model: type[ModelT]) -> ModelT:
    """Build ``model`` from a record, turning pydantic's complaint into a RowError."""
    try:
        return model.model_validate(record.values)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "*"
        field_name = str(first["loc"][0]) if first["loc"] else "*"
        column = record.column_of(field_name) + location[len(field_name) :]
        problem = first["msg"]
        if first["type"] == "extra_forbidden":
            problem = f"unknown column; expected one of {sorted(model.model_fields)}"
        elif first["type"] != "missing":
            problem += f" (got {first['input']!r})"
        raise RowError(record.source, record.line, column, problem) from None


def _batches(records: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Importer:
    """Stages validated items, users and events, then merges them into a store in short
    transactions (see the module's docstring)."""

    def __init__(
        self,
        store: Store,
        event_types: Collection[str],
        batch_size: int = 5000,
        on_progress: ProgressCallback | None = None,
        window: EventWindow | None = None,
        staging_dir: Path | None = None,
        merge_chunk: int = 5000,
    ) -> None:
        self.store = store
        self.event_types = frozenset(event_types)
        # any age, but never ahead of the clock (the HTTP rule without its age limit)
        self.window = window or EventWindow(DEFAULT_FUTURE_SECONDS)
        self.batch_size = batch_size
        self.on_progress = on_progress
        self.staging_dir = staging_dir
        self.merge_chunk = merge_chunk

    def run(
        self,
        items: Iterable[Record] = (),
        users: Iterable[Record] = (),
        events: Iterable[Record] = (),
    ) -> ImportSummary:
        """Import everything given, items first so events may point at them."""
        finish_interrupted_imports(self.store, self.merge_chunk)
        import_id = uuid.uuid4().hex
        with self._staging_folder() as folder:
            staging = StagingFile(folder / f"{import_id}.db")
            try:
                n_items, staged_items = self._stage_items(staging, items)
                n_users = self._stage_users(staging, users)
                self._stage_events(staging, events, staged_items)
                staging.seal()
            except BaseException:
                staging.remove()
                raise
            accepted, duplicates = _merge(self.store, import_id, staging, self.merge_chunk, self._report)
        return ImportSummary(n_items, n_users, accepted, duplicates)

    @contextmanager
    def _staging_folder(self) -> Iterator[Path]:
        """``staging_dir`` (where a stopped merge is found again), else a temporary folder."""
        if self.staging_dir is not None:
            self.staging_dir.mkdir(parents=True, exist_ok=True)
            yield self.staging_dir
            return
        with tempfile.TemporaryDirectory(prefix="homefeed-import-") as folder:
            yield Path(folder)

    def _report(self, kind: str, count: int) -> None:
        if self.on_progress is not None:
            self.on_progress(kind, count)

    def _stage_items(self, staging: StagingFile, records: Iterable[Record]) -> tuple[int, set[str]]:
        total, ids = 0, set[str]()
        validated = (validate_record(record, Item) for record in records)
        for batch in _batches(validated, self.batch_size):
            staging.add("items", batch)
            ids.update(item.id for item in batch)
            total += len(batch)
            self._report("items (checked)", total)
        return total, ids

    def _stage_users(self, staging: StagingFile, records: Iterable[Record]) -> int:
        total = 0
        for batch in _batches((validate_record(record, User) for record in records), self.batch_size):
            staging.add("users", batch)
            total += len(batch)
            self._report("users (checked)", total)
        return total

    def _stage_events(self, staging: StagingFile, records: Iterable[Record], staged_items: set[str]) -> int:
        known_items = set(staged_items)
        total = 0
        for batch in _batches(records, self.batch_size):
            events = [self._validate_event(record) for record in batch]
            unseen = {event.item_id for event in events} - known_items
            if unseen:
                known_items |= self.store.existing_item_ids(unseen)
                for record, event in zip(batch, events, strict=True):
                    if event.item_id not in known_items:
                        raise RowError(
                            record.source,
                            record.line,
                            record.column_of("item_id"),
                            f"unknown item {event.item_id!r}: import the items first "
                            "or include them in this import",
                        )
            staging.add("events", events)
            total += len(events)
            self._report("events (checked)", total)
        return total

    def _validate_event(self, record: Record) -> Event:
        event = validate_record(record, Event)
        if event.type not in self.event_types:
            raise RowError(
                record.source,
                record.line,
                record.column_of("type"),
                f"unknown event type {event.type!r}; expected one of {sorted(self.event_types)}",
            )
        problem = self.window.problem(event.timestamp, time.time())
        if problem is not None:
            raise RowError(record.source, record.line, record.column_of("timestamp"), problem)
        return event


def _merge(
    store: Store,
    import_id: str,
    staging: StagingFile,
    chunk: int,
    report: ProgressCallback,
    resume: ImportProgress | None = None,
) -> tuple[int, int]:
    """Write the staged rows in transactions of ``chunk`` rows, from where ``resume`` (a merge
    that was stopped) left off; returns (events accepted, duplicate events skipped)."""
    if resume is None:
        imports.begin(store.engine, import_id, str(staging.path), KINDS[0])
    accepted = duplicates = 0
    for kind in KINDS[KINDS.index(resume.kind) :] if resume is not None else KINDS:
        merged = resume.merged if resume is not None and kind == resume.kind else 0
        for rows in staging.chunks(kind, merged, chunk):
            # SQLite takes its write lock at the first write: reading the chunk holds none
            with store.engine.begin() as connection:
                if kind == "items":
                    items = {item.id: item for item in rows}
                    store.upsert_items(list(items.values()), connection)
                elif kind == "users":
                    users = {user.id: user for user in rows}
                    store.upsert_users(list(users.values()), connection)
                else:
                    result = store.add_event_rows(rows, connection)
                    accepted, duplicates = accepted + result.accepted, duplicates + result.duplicates
                merged += len(rows)
                imports.advance(connection, import_id, kind, merged)
            report(kind, merged)
    imports.finish(store.engine, import_id)
    staging.remove()
    return accepted, duplicates


def finish_interrupted_imports(store: Store, chunk: int = 5000) -> int:
    """Finish the merges of imports stopped midway (their staged rows are still on disk);
    returns how many were finished. One whose staging file is gone is dropped with a warning."""
    finished = 0
    for progress in imports.pending(store.engine):
        path = Path(progress.staging)
        if not path.exists():
            logger.warning("import %s stopped midway and its staged rows are gone: %s", progress.id, path)
            imports.finish(store.engine, progress.id)
            continue
        logger.info(
            "finishing import %s from %s (%d %s merged)", progress.id, path, progress.merged, progress.kind
        )
        _merge(store, progress.id, StagingFile(path), chunk, lambda _kind, _count: None, progress)
        finished += 1
    return finished
