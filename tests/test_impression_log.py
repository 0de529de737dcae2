"""The impression log: pages held in memory and written in batches by one thread, in order,
on time, when a batch is full, and all of them on close."""

from __future__ import annotations

import time

from homefeed.domain import ShownPage, User
from homefeed.live.impressions import ImpressionLogger
from homefeed.store import Store


def _page(number: int, items: int = 2) -> ShownPage:
    shown = tuple((f"i{number}-{k}", k, "main", "popular") for k in range(items))
    return ShownPage(f"r{number}", "u1", None, 100.0 + number, None, None, shown)


def _written(store: Store) -> list[str]:
    data = store.user_data("u1")
    assert data is not None
    return [row.item_id for row in data.impressions]


def _wait_for(store: Store, count: int, seconds: float = 10.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while len(found := _written(store)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_pages_wait_for_the_interval_then_are_written_in_order(store: Store) -> None:
    store.upsert_users([User(id="u1")])
    log = ImpressionLogger(store, batch_size=1000, interval_seconds=1.5)
    for number in range(3):
        log.log(_page(number))
    assert log.waiting() == 3 and _written(store) == []  # held, not written per page
    assert _wait_for(store, 6) == ["i0-0", "i0-1", "i1-0", "i1-1", "i2-0", "i2-1"]
    assert log.waiting() == 0
    log.close()


def test_a_full_batch_is_written_before_the_interval_and_close_flushes_the_rest(store: Store) -> None:
    store.upsert_users([User(id="u1")])
    log = ImpressionLogger(store, batch_size=4, interval_seconds=60.0)
    log.log(_page(0))
    log.log(_page(1))  # 4 impressions: a full batch wakes the writer long before a minute
    assert len(_wait_for(store, 4)) == 4
    log.log(_page(2))  # alone, it would wait the minute: close writes it
    log.close()
    assert _written(store) == ["i0-0", "i0-1", "i1-0", "i1-1", "i2-0", "i2-1"]
