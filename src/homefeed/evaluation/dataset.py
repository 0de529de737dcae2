"""A data folder held in memory for evaluation: items, users and time-ordered interactions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from homefeed.datasets.folders import folder_records
from homefeed.datasets.importer import validate_record
from homefeed.domain import Event, Item, User
from homefeed.errors import RowError
from homefeed.events import EventPolicy


@dataclass(frozen=True)
class Interaction:
    """One positive interaction, in the order the protocols use (time, then file order)."""

    user_id: str
    item_id: str
    timestamp: float
    weight: float
    type: str = "click"  # the event type it was read from (a page evaluation stores it again)
    value: float | None = None  # the event's value (play count, watch time, rating), if any


@dataclass
class EvalDataset:
    """Everything a protocol needs, loaded once from any supported folder."""

    name: str
    folder: Path
    items: dict[str, Item]
    users: dict[str, User]
    interactions: list[Interaction]  # sorted by (timestamp, file order)

    @classmethod
    def load(
        cls, folder: Path, events: EventPolicy | Mapping[str, float], item_details: Path | None = None
    ) -> EvalDataset:
        """Read ``folder`` (and item attributes from ``item_details``); keep events the policy
        counts as liking, each (user, item) pair once (the protocols rank what a user chose
        next, not how often)."""
        policy = EventPolicy.of(events)
        records = folder_records(folder, item_details=item_details)
        items = {item.id: item for item in (validate_record(r, Item) for r in records.items)}
        users = {user.id: user for user in (validate_record(r, User) for r in records.users)}
        rows: list[Interaction] = []
        seen: set[tuple[str, str]] = set()
        for record in records.events:
            event = validate_record(record, Event)
            if not policy.knows(event.type):
                raise RowError(
                    record.source, record.line, record.column_of("type"), f"unknown event type {event.type!r}"
                )
            weight = policy.strength(event.type, event.value)
            if weight <= 0 or (event.user_id, event.item_id) in seen:
                continue
            if event.item_id not in items:
                raise RowError(
                    record.source, record.line, record.column_of("item_id"), f"unknown item {event.item_id!r}"
                )
            seen.add((event.user_id, event.item_id))
            rows.append(
                Interaction(event.user_id, event.item_id, event.timestamp, weight, event.type, event.value)
            )
        order = np.argsort(np.array([row.timestamp for row in rows], dtype=np.float64), kind="stable")
        return cls(folder.name, folder, items, users, [rows[i] for i in order])

    def item_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.interactions:
            counts[row.item_id] = counts.get(row.item_id, 0) + 1
        return counts
