"""Bulk import in two steps: every row validated first, then all rows written.

1. *Staging.* Each row is validated (the first bad one raises a :class:`RowError` naming file,
   line and column) and kept in a staging file of its own. Nothing is written to the store, and
   no lock on it is held however long the file takes to read: an import that fails here, or is
   stopped, leaves nothing.
2. *Merge.* The staged rows are written in transactions (items, then users, then events), each
   recording its progress in the store's ``imports`` table, so the store's write lock is never
   held for longer than one chunk (events posted meanwhile wait a fraction of a second, not the
   whole import). The first chunk has ``merge_chunk`` rows; later ones are sized so that each
   takes about ``merge_seconds`` (:class:`MergePace`): large chunks write an index's pages once
   for many rows, which is most of a large import's speed. An import stopped during its merge is finished,
   exactly once, by the next import or the next start of the service.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import BaseModel, TypeAdapter, ValidationError

from homefeed.datasets.event_rows import StagedEvent, fast_rows, staged
from homefeed.datasets.records import Record
from homefeed.datasets.staging import KINDS, StagingFile
from homefeed.domain import Event, Item, User
from homefeed.errors import RowError
from homefeed.events import EventWindow
from homefeed.store import Store, bulk, imports
from homefeed.store.imports import ImportProgress

logger = logging.getLogger(__name__)
DEFAULT_FUTURE_SECONDS = 600.0  # Settings.event_max_future_seconds's default
MERGE_SECONDS = 0.25  # a merge transaction's aim: events posted meanwhile wait about this long
# events from which a merge into a table at most four times its size drops the read indexes and
# builds them again at its end (store.bulk): pages read histories without them meanwhile
REBUILD_FROM = 100_000
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


@cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def validate_records(records: Sequence[Record], model: type[ModelT]) -> list[ModelT]:
    """Models of a batch of records. JSON lines read as they are go through pydantic's own
    parser in one pass (no Python dict per row first); other records, and a batch holding a
    bad row (so that the error names it exactly as :func:`validate_record` does), one at a time."""
    if records and all(record.text is not None and not record.columns for record in records):
        try:
            return cast(
                list[ModelT],
                _list_adapter(model).validate_json(
                    "[" + ",".join(cast(str, record.text) for record in records) + "]"
                ),
            )
        except ValidationError:
            pass  # found again, and named, row by row
    return [validate_record(record, model) for record in records]


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
        merge_seconds: float | None = MERGE_SECONDS,
        rebuild_from: int = REBUILD_FROM,
    ) -> None:
        self.store = store
        self.event_types = frozenset(event_types)
        # any age, but never ahead of the clock (the HTTP rule without its age limit)
        self.window = window or EventWindow(DEFAULT_FUTURE_SECONDS)
        self.batch_size = batch_size
        self.on_progress = on_progress
        self.staging_dir = staging_dir
        self.merge_chunk = merge_chunk
        self.merge_seconds = merge_seconds
        self.rebuild_from = rebuild_from

    def run(
        self,
        items: Iterable[Record] = (),
        users: Iterable[Record] = (),
        events: Iterable[Record] = (),
    ) -> ImportSummary:
        """Import everything given, items first so events may point at them."""
        finish_interrupted_imports(self.store, self.merge_chunk, self.merge_seconds)
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
            pace = MergePace(self.merge_chunk, self.merge_seconds)
            rebuild = _rebuilds_indexes(self.store, staging.count("events"), self.rebuild_from)
            accepted, duplicates = _merge(self.store, import_id, staging, pace, self._report, rebuild=rebuild)
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
        for rows in _batches(records, self.batch_size):
            batch = validate_records(rows, Item)
            staging.add("items", batch)
            ids.update(item.id for item in batch)
            total += len(batch)
            self._report("items (checked)", total)
        return total, ids

    def _stage_users(self, staging: StagingFile, records: Iterable[Record]) -> int:
        total = 0
        for rows in _batches(records, self.batch_size):
            batch = validate_records(rows, User)
            staging.add("users", batch)
            total += len(batch)
            self._report("users (checked)", total)
        return total

    def _stage_events(self, staging: StagingFile, records: Iterable[Record], staged_items: set[str]) -> int:
        known_items = set(staged_items)
        total = 0
        for batch in _batches(records, self.batch_size):
            rows = self._validate_events(batch)
            unseen = {row[2] for row in rows} - known_items
            if unseen:
                known_items |= self.store.existing_item_ids(unseen)
                for record, row in zip(batch, rows, strict=True):
                    if row[2] not in known_items:
                        raise RowError(
                            record.source,
                            record.line,
                            record.column_of("item_id"),
                            f"unknown item {row[2]!r}: import the items first or include them in this import",
                        )
            staging.add_events(rows)
            total += len(rows)
            self._report("events (checked)", total)
        return total

    def _validate_events(self, records: Sequence[Record]) -> list[StagedEvent]:
        rows = fast_rows(records)
        if rows is None:
            rows = [staged(event) for event in validate_records(records, Event)]
        now = time.time()
        for record, row in zip(records, rows, strict=True):
            if row[3] not in self.event_types:
                raise RowError(
                    record.source,
                    record.line,
                    record.column_of("type"),
                    f"unknown event type {row[3]!r}; expected one of {sorted(self.event_types)}",
                )
            problem = self.window.problem(row[5], now)
            if problem is not None:
                raise RowError(record.source, record.line, record.column_of("timestamp"), problem)
        return rows


@dataclass
class MergePace:
    """How many staged rows go into the next transaction: after each, the size is scaled (at
    most doubled) so that one takes about ``seconds``; None keeps ``rows`` throughout."""

    rows: int
    seconds: float | None = MERGE_SECONDS
    most: int = 200_000

    def after(self, rows: int, took: float) -> None:
        if self.seconds is None or took <= 0 or rows < self.rows:
            return
        self.rows = int(min(self.most, max(1000, rows * min(2.0, self.seconds / took))))


def _merge(
    store: Store,
    import_id: str,
    staging: StagingFile,
    pace: MergePace,
    report: ProgressCallback,
    resume: ImportProgress | None = None,
    rebuild: bool = False,
) -> tuple[int, int]:
    """Write the staged rows in transactions paced by ``pace``, from where ``resume`` (a merge
    that was stopped) left off; returns (events accepted, duplicate events skipped). With
    ``rebuild``, the events go in without the read indexes; they are (re)built at the end
    whenever missing, so a resumed merge of a rebuilding import builds them too."""
    if resume is None:
        imports.begin(store.engine, import_id, str(staging.path), KINDS[0])
    accepted = duplicates = 0
    for kind in KINDS[KINDS.index(resume.kind) :] if resume is not None else KINDS:
        merged = resume.merged if resume is not None and kind == resume.kind else 0
        if kind == "events" and rebuild:
            with store.engine.begin() as connection:
                bulk.drop_read_indexes(connection)
        while rows := staging.read(kind, merged, pace.rows):
            # SQLite takes its write lock at the first write: reading the chunk holds none
            began = time.perf_counter()
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
            pace.after(len(rows), time.perf_counter() - began)
            report(kind, merged)
    with store.engine.begin() as connection:
        report("indexes", 0)
        bulk.build_read_indexes(connection)
    imports.finish(store.engine, import_id)
    staging.remove()
    return accepted, duplicates


def _rebuilds_indexes(store: Store, staged_events: int, rebuild_from: int) -> bool:
    if staged_events < rebuild_from:
        return False
    with store.engine.connect() as connection:
        return staged_events * 4 >= bulk.stored_events_estimate(connection)


def finish_interrupted_imports(store: Store, chunk: int = 5000, seconds: float | None = MERGE_SECONDS) -> int:
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
        pace = MergePace(chunk, seconds)
        _merge(store, progress.id, StagingFile(path), pace, lambda _kind, _count: None, progress)
        finished += 1
    return finished
