"""The engine's one "now" for everything computed from events while serving: the request's
time the ranker's context features read (item age, hour, weekday), and the windows of the
trending and count lists. Training fixes "now" per example at the user's latest event
(:func:`homefeed.ranking.context.contexts_of`); serving asks a :class:`Clock`, so both compute
the same features from the same code.

On a live site "now" is the wall clock. A replayed or imported log (MovieLens, a data dump)
ends long before today: measured from the wall clock every item would be years old and
nothing trending, so the ``auto`` clock then reads the log's newest event instead.
"""

from __future__ import annotations

import time
from typing import Protocol

from homefeed.live.cache import Refreshed
from homefeed.store import Store

DAY = 86_400.0
LATEST_TTL = 30.0  # seconds the newest event's time is served from memory
CLOCKS = ("auto", "wall", "log")


class Clock(Protocol):
    """Where "now" comes from (epoch seconds, UTC)."""

    def now(self) -> float: ...


class WallClock:
    """The machine's clock: a live site whose events arrive as they happen."""

    def now(self) -> float:
        return time.time()


class FixedClock:
    """One chosen moment: replaying a log at a point in its history, and tests."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at


class LogClock:
    """The newest stored event's time (re-read every LATEST_TTL seconds), or the wall clock
    when the log is empty. ``stale_days``: read the log only when its newest event is older
    than this (``auto``: a log that stopped is a replay, a log that runs is live); None:
    always read the log."""

    def __init__(self, store: Store, stale_days: float | None = None) -> None:
        self.stale_days = stale_days
        self._latest = Refreshed(store.logs.latest_event_time, LATEST_TTL, "latest-event")

    def now(self) -> float:
        wall = time.time()
        latest = self._latest.get()
        if latest is None:
            return wall
        if self.stale_days is not None and wall - latest <= self.stale_days * DAY:
            return wall
        return min(latest, wall)  # an event dated in the future does not move "now" ahead


def make_clock(kind: str, store: Store, stale_days: float) -> Clock:
    """The clock a setting names: ``wall``, ``log`` or ``auto`` (the wall clock while the log
    has events from the last ``stale_days`` days, else its newest event)."""
    if kind == "wall":
        return WallClock()
    if kind == "log":
        return LogClock(store)
    if kind == "auto":
        return LogClock(store, stale_days)
    raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, not {kind!r}")
