"""Transactional bulk import: every row validated, all rows written, or none.

Items, users and events of one import share one database transaction; the first bad row
raises a :class:`RowError` naming file, line and column, and the transaction is rolled
back so nothing from that import is left in the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from homefeed.datasets.records import Record
from homefeed.domain import Event, Item, User
from homefeed.errors import RowError
from homefeed.events import EventWindow
from homefeed.store import Store

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
    """Writes validated items, users and events into a store in one transaction."""

    def __init__(
        self,
        store: Store,
        event_types: Collection[str],
        batch_size: int = 5000,
        on_progress: ProgressCallback | None = None,
        window: EventWindow | None = None,
    ) -> None:
        self.store = store
        self.event_types = frozenset(event_types)
        # any age, but never ahead of the clock (the HTTP rule without its age limit)
        self.window = window or EventWindow(DEFAULT_FUTURE_SECONDS)
        self.batch_size = batch_size
        self.on_progress = on_progress

    def run(
        self,
        items: Iterable[Record] = (),
        users: Iterable[Record] = (),
        events: Iterable[Record] = (),
    ) -> ImportSummary:
        """Import everything given, items first so events may point at them."""
        with self.store.engine.begin() as connection:
            n_items = self._write_items(connection, items)
            n_users = self._write_users(connection, users)
            n_events, duplicates = self._write_events(connection, events)
        return ImportSummary(n_items, n_users, n_events, duplicates)

    def _report(self, kind: str, count: int) -> None:
        if self.on_progress is not None:
            self.on_progress(kind, count)

    def _write_items(self, connection: sa.Connection, records: Iterable[Record]) -> int:
        total = 0
        validated = (validate_record(record, Item) for record in records)
        for batch in _batches(validated, self.batch_size):
            unique = list({item.id: item for item in batch}.values())
            self.store.upsert_items(unique, connection)
            total += len(batch)
            self._report("items", total)
        return total

    def _write_users(self, connection: sa.Connection, records: Iterable[Record]) -> int:
        total = 0
        validated = (validate_record(record, User) for record in records)
        for batch in _batches(validated, self.batch_size):
            unique = list({user.id: user for user in batch}.values())
            self.store.upsert_users(unique, connection)
            total += len(batch)
            self._report("users", total)
        return total

    def _write_events(self, connection: sa.Connection, records: Iterable[Record]) -> tuple[int, int]:
        known_items: set[str] = set()
        accepted = duplicates = 0
        for batch in _batches(records, self.batch_size):
            events = [self._validate_event(record) for record in batch]
            unseen = {event.item_id for event in events} - known_items
            if unseen:
                known_items |= self.store.existing_item_ids(unseen, connection)
                for record, event in zip(batch, events, strict=True):
                    if event.item_id not in known_items:
                        raise RowError(
                            record.source,
                            record.line,
                            record.column_of("item_id"),
                            f"unknown item {event.item_id!r}: import the items first "
                            "or include them in this import",
                        )
            result = self.store.add_events(events, connection)
            accepted += result.accepted
            duplicates += result.duplicates
            self._report("events", accepted + duplicates)
        return accepted, duplicates

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
