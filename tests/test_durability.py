"""Fault injection: the server is killed (SIGKILL) while clients stream events into it; every
event it acknowledged is in the store afterwards, once, and replaying the batches that got no
answer stores each of their events exactly once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from homefeed.config import Settings
from homefeed.domain import Event, Item
from homefeed.store import Store

from .faults import kill_mid_ingest


@pytest.mark.slow
def test_a_killed_server_keeps_every_event_it_acknowledged(store: Store, settings: Settings) -> None:
    items = [Item(id=f"i{n}", title=f"Item {n}") for n in range(5)]
    store.upsert_items(items)
    seen = kill_mid_ingest(settings, [item.id for item in items], kill_after=2000)
    assert len(seen.acknowledged) >= 2000
    stored = _stored_ids(store)
    assert seen.acknowledged <= stored, f"{len(seen.acknowledged - stored)} acknowledged events were lost"
    assert store.counts()["events"] == len(stored)  # each stored once
    # a client that got no answer sends its batch again: each of its events is then stored, once
    for batch in seen.unanswered:
        store.add_events([Event.model_validate(fields) for fields in batch])
    after = _stored_ids(store)
    assert {str(event["event_id"]) for batch in seen.unanswered for event in batch} <= after
    assert store.counts()["events"] == len(after)


def _stored_ids(store: Store) -> set[str]:
    with store.engine.connect() as connection:
        return {str(row[0]) for row in connection.execute(sa.text("SELECT event_id FROM events"))}
