"""Aggregates re-read in the background: a page never waits on a slow re-read, and a failed
re-read keeps the previous value."""

from __future__ import annotations

import threading
import time

from homefeed.homepage.cache import Refreshed


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
