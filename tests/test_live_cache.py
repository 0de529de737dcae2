"""Aggregates re-read in the background: a page never waits on a slow re-read, and a failed
re-read keeps the previous value; exposure counts merge the log with this worker's pages."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from homefeed.config import Settings
from homefeed.domain import Event, Item
from homefeed.live.aggregates import LiveStats
from homefeed.live.cache import Refreshed
from homefeed.live.clock import FixedClock, WallClock, make_clock
from homefeed.store import Store


def test_a_stale_value_is_served_at_once_while_the_reread_runs_behind() -> None:
    release, calls = threading.Event(), []

    def load() -> int:
        calls.append(1)
        if len(calls) > 1:
            release.wait(5)  # the second read is slow
        return len(calls)

    value = Refreshed(load, ttl=0.01, name="test")
    assert value.get() == 1  # the first read waits for the load
    time.sleep(0.02)
    started = time.monotonic()
    assert value.get() == 1 and value.get() == 1  # stale, at once, one re-read started
    assert time.monotonic() - started < 0.5
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) == 2 and value.get() == 1  # one re-read running, still the old value
    release.set()
    deadline = time.monotonic() + 5
    while value.get() == 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert value.get() >= 2  # the re-read's value (later ones may follow: the ttl is tiny)


def test_a_failed_reread_keeps_the_previous_value() -> None:
    outcomes: list[int | Exception] = [1, RuntimeError("database away"), 3]

    def load() -> int:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    value = Refreshed(load, ttl=0.01, name="test")
    assert value.get() == 1
    time.sleep(0.02)
    assert value.get() == 1  # starts the failing re-read
    deadline = time.monotonic() + 5
    while (len(outcomes) > 1 or value._refreshing.locked()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert value.get() == 1  # the failure kept the old value (and this read starts the next)
    while value.get() != 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert value.get() == 3


def test_the_first_read_begins_at_start_and_a_page_during_it_waits_for_it_not_a_second() -> None:
    """At 10M events the first reads took 45 s: a worker begins them as it starts, and a page
    that comes meanwhile waits for that read instead of running another."""
    release, calls = threading.Event(), []

    def load() -> int:
        calls.append(1)
        release.wait(5)
        return len(calls)

    value = Refreshed(load, ttl=60, name="test")
    thread = value.warm()
    assert thread is not None and not value.loaded
    assert value.warm() is None  # already being read
    got: list[int] = []
    page = threading.Thread(target=lambda: got.append(value.get()))
    page.start()
    time.sleep(0.05)
    assert not got  # the page waits for the warm-up's read
    release.set()
    page.join(5)
    thread.join(5)
    assert got == [1] and calls == [1] and value.loaded and value.warm() is None


def test_a_failed_warm_up_is_begun_again_and_readiness_waits_for_it(store: Store, tmp_path: Path) -> None:
    outcomes: list[int | Exception] = [RuntimeError("database away"), 2]

    def load() -> int:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    value = Refreshed(load, ttl=60, name="test")
    thread = value.warm()
    assert thread is not None
    thread.join(5)
    assert not value.loaded  # the failure is logged; nothing is served from it
    again = value.warm()
    assert again is not None
    again.join(5)
    assert value.loaded and value.get() == 2
    live = LiveStats(store, Settings(data_dir=tmp_path), FixedClock(1_000_000.0))
    assert live.warmed(wait=5.0)  # an empty log is read at once
    assert live.popular() == [] and live.trending() == []


def test_a_slow_reread_spaces_out_the_next_ones() -> None:
    """A read taking 50 ms with ``busy_share`` 0.1 is not repeated for 0.5 s, whatever the ttl."""
    calls: list[float] = []

    def load() -> int:
        calls.append(time.monotonic())
        time.sleep(0.05)
        return len(calls)

    value = Refreshed(load, ttl=0.01, name="test", busy_share=0.1)
    assert value.get() == 1
    hammered_until = time.monotonic() + 0.3
    while time.monotonic() < hammered_until:
        value.get()
        time.sleep(0.005)
    assert len(calls) == 1  # the ttl alone would have re-read about 30 times
    time.sleep(0.3)
    value.get()  # 0.6 s after the first read: now it is re-read
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.5


class _Log:
    """Stands in for the re-read exposure aggregate: whatever ``value`` is now."""

    def __init__(self, value: dict[str, tuple[int, int]]) -> None:
        self.value = value

    def get(self) -> dict[str, tuple[int, int]]:
        return self.value


def test_times_shown_is_the_larger_of_the_log_and_this_workers_pages(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'live.db'}")
    live = LiveStats(store, Settings(data_dir=tmp_path), WallClock())
    log = _Log({"a": (5, 1), "b": (1, 0)})
    live._exposure = log  # type: ignore[assignment]
    assert live.shown(["a", "b", "c"]).tolist() == [5, 1, 0]
    for _ in range(3):
        live.note_shown(iter(["b", "c"]))  # a generator, as pages pass it
    assert live.shown(["a", "b", "c"]).tolist() == [5, 3, 3]
    # the log is re-read (a new value): it counts where larger, this worker's pages elsewhere
    log.value = {"a": (7, 2), "b": (2, 0), "c": (9, 0)}
    assert live.shown(["a", "b", "c", "d"]).tolist() == [7, 3, 9, 0]
    live.note_shown(["d"])
    assert live.shown(["d", "a"]).tolist() == [1, 7]
    # after ``ignore_days`` this worker's counts restart: the log alone, then the new pages
    started, counts = live._shown_here
    live._shown_here = (started - live.settings.homepage.ignore_days * 86_400 - 1, counts)
    live.note_shown(["a"])
    assert live.shown(["a", "b", "d"]).tolist() == [7, 2, 0]


def test_counts_are_the_events_of_the_given_types_in_the_last_days(store: Store, tmp_path: Path) -> None:
    """Measured from the clock's now (the log's newest event); ties by id; other types, older
    events and events dated after now do not count."""
    day = 86_400.0
    now = 1_800_000_000.0
    store.upsert_items([Item(id=item, title=item) for item in ("a", "b", "c", "d")])
    store.add_events(
        [
            *(Event(user_id=f"u{n}", item_id="a", type="like", timestamp=now - day) for n in range(3)),
            *(
                Event(user_id=f"u{n}", item_id="b", type="add_to_cart", timestamp=now - 2 * day)
                for n in range(3)
            ),
            Event(user_id="u9", item_id="c", type="like", timestamp=now - 6 * day),
            Event(user_id="u9", item_id="d", type="like", timestamp=now - 9 * day),  # before the week
            *(Event(user_id=f"v{n}", item_id="d", type="click", timestamp=now) for n in range(5)),
            Event(user_id="late", item_id="c", type="like", timestamp=now + day),
        ]
    )
    live = LiveStats(store, Settings(data_dir=tmp_path), FixedClock(now))
    assert live.counts(["like", "add_to_cart"], days=7) == [("a", 3), ("b", 3), ("c", 1)]
    assert live.counts(["click"], days=1) == [("d", 5)]


def test_the_auto_clock_reads_a_replayed_log_and_the_wall_clock_while_the_log_runs(
    store: Store,
) -> None:
    day = 86_400.0
    assert abs(make_clock("auto", store, 3.0).now() - time.time()) < 5.0  # an empty log: the wall clock
    store.upsert_items([Item(id="a", title="a")])
    replayed = time.time() - 400 * day
    store.add_events([Event(user_id="u", item_id="a", type="click", timestamp=replayed)])
    assert make_clock("auto", store, 3.0).now() == replayed  # a log that stopped long ago
    assert abs(make_clock("wall", store, 3.0).now() - time.time()) < 5.0
    store.add_events([Event(user_id="u", item_id="a", type="click", timestamp=time.time() - day)])
    assert abs(make_clock("auto", store, 3.0).now() - time.time()) < 5.0  # a log that runs: live
    store.add_events([Event(user_id="u", item_id="a", type="click", timestamp=time.time() + 30 * day)])
    assert make_clock("log", store, 3.0).now() <= time.time()  # a future event does not move now
    with pytest.raises(ValueError, match="auto, wall, log"):
        make_clock("sundial", store, 3.0)
