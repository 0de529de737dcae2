"""Imported events validated as plain rows: the same rules as :class:`homefeed.domain.Event`,
without building a model object per row.

A batch of JSON lines is checked by pydantic in one pass against a ``TypedDict`` made from
``Event``'s own fields (their types, constraints and validators), which returns dicts: about a
third of the cost of a model per row, most of a large import's checking. Any batch this path
does not take (rows that are not JSON lines as read, or a bad row) goes through ``Event``
itself, so errors are named exactly as before.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any, NotRequired, cast

from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict  # pydantic needs this one below Python 3.12

from homefeed.datasets.records import Record
from homefeed.domain import Event

# as staged: (event_id, user_id, item_id, type, value, timestamp, context as JSON or None)
StagedEvent = tuple[str | None, str, str, str, float | None, float, str | None]


@cache
def _rows_adapter() -> TypeAdapter[list[dict[str, Any]]]:
    """A list of ``Event``'s fields as a ``TypedDict``: each field's type with its constraints
    (``FieldInfo.metadata``), optional where the model has a default; no other key allowed."""
    fields: dict[str, Any] = {}
    for name, info in Event.model_fields.items():
        annotated = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        fields[name] = annotated if info.is_required() else NotRequired[annotated]
    row_type = with_config(ConfigDict(extra="forbid"))(TypedDict("EventFields", fields))  # type: ignore[operator]
    return TypeAdapter(list[row_type])  # type: ignore[valid-type]


def staged(event: Event) -> StagedEvent:
    """An event model as a staged row."""
    context = json.dumps(event.context) if event.context else None
    return (event.event_id, event.user_id, event.item_id, event.type, event.value, event.timestamp, context)


def fast_rows(records: Sequence[Record]) -> list[StagedEvent] | None:
    """The batch as staged rows when every record is a JSON line as read and all are valid;
    None otherwise (the caller checks the batch with ``Event``, which names the bad row)."""
    if not records or any(record.text is None or record.columns for record in records):
        return None
    try:
        found = _rows_adapter().validate_json("[" + ",".join(cast(str, r.text) for r in records) + "]")
    except ValidationError:
        return None
    now = time.time()  # Event's default timestamp: when it was read
    return [
        (
            row.get("event_id"),
            row["user_id"],
            row["item_id"],
            row["type"],
            row.get("value"),
            row.get("timestamp", now),
            json.dumps(row["context"]) if row.get("context") else None,
        )
        for row in found
    ]
