"""Live aggregates of the event and impression logs, shared by every request and re-read every
few seconds: what is popular and trending now, and how often each item was shown and then
acted on."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from itertools import repeat
from typing import Any, TypeVar

import numpy as np

from homefeed.config import Settings
from homefeed.live.cache import Refreshed
from homefeed.live.clock import Clock
from homefeed.live.shared import SharedAggregates, pair_table, pairs
from homefeed.store import Store

LIVE_TTL = 30.0  # seconds an aggregate is served from memory before it is read again
POPULAR_LIMIT = 5000  # items kept of the live popular list
V = TypeVar("V")
BUCKET_SECONDS = 3600.0  # events are counted per hour, then decayed by the hour's age


class LiveStats:
    """Live popularity, trending scores and item exposure, re-read in the background every
    LIVE_TTL seconds: by each worker, or once for all of them through ``shared`` (Redis)."""

    def __init__(
        self, store: Store, settings: Settings, clock: Clock, shared: SharedAggregates | None = None
    ) -> None:
        self.store, self.settings, self.clock, self.shared = store, settings, clock, shared
        declared, positive = settings.homepage, ",".join(sorted(settings.events.positive_types))
        self._popular = Refreshed(
            self._through(
                f"popular:{positive}:{POPULAR_LIMIT}",
                lambda: store.logs.item_popularity(settings.events.positive_types, POPULAR_LIMIT),
                pairs,
            ),
            LIVE_TTL,
            "popular",
        )
        trending = (declared.trending_half_life_hours, declared.trending_days, declared.trending_min_users)
        self._trending = Refreshed(
            self._through(f"trending:{positive}:{trending}", self._read_trending, pairs), LIVE_TTL, "trending"
        )
        self._exposure = Refreshed(
            self._through(f"exposure:{positive}:{declared.ignore_days}", self._read_exposure, pair_table),
            LIVE_TTL,
            "exposure",
        )
        self._shown_here: tuple[float, Counter[str]] = (time.monotonic(), Counter())
        # times shown, the larger of the logged count and this worker's: one lookup per item;
        # rebuilt when the log is re-read (keyed by the exposure value it was built from)
        self._merged: tuple[object, dict[str, int]] = (None, {})
        self._noting = threading.Lock()
        self._counts: dict[tuple[tuple[str, ...], float], Refreshed[list[tuple[str, int]]]] = {}

    def warm(self) -> None:
        """Begin the first reads of the aggregates in the background (see ``Refreshed.warm``)."""
        for aggregate in self._aggregates():
            aggregate.warm()

    def warmed(self, wait: float = 0.0) -> bool:
        """Whether every aggregate has been read once, waiting up to ``wait`` seconds for it
        (a read that failed is begun again)."""
        self.warm()
        deadline = time.monotonic() + wait
        while not all(aggregate.loaded for aggregate in self._aggregates()):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def _aggregates(self) -> tuple[Refreshed[Any], ...]:
        return (self._popular, self._trending, self._exposure)

    def _through(self, name: str, load: Callable[[], V], decode: Callable[[Any], V]) -> Callable[[], V]:
        return load if self.shared is None else self.shared.through(name, load, decode)

    def popular(self) -> list[tuple[str, int]]:
        """The POPULAR_LIMIT items with the most positive events ever, most first: the popular
        list before any model is trained."""
        return self._popular.get()

    def trending(self) -> list[tuple[str, float]]:
        """Items by time-decayed count of the users who had a positive event on them (half-life
        ``homepage.trending_half_life_hours``, over ``trending_days`` up to the clock's now),
        highest first; an item needs ``trending_min_users`` different users to trend."""
        return self._trending.get()

    def _read_trending(self) -> list[tuple[str, float]]:
        declared = self.settings.homepage
        now = self.clock.now()
        scores, users = self.store.logs.trending_users(
            self.settings.events.positive_types,
            now - declared.trending_days * 86_400,
            now,
            BUCKET_SECONDS,
            declared.trending_half_life_hours * 3600,
        )
        enough = declared.trending_min_users
        found = [(item_id, score) for item_id, score in scores.items() if users[item_id] >= enough]
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))

    def counts(self, event_types: Sequence[str], days: float) -> list[tuple[str, int]]:
        """Items by how many events of ``event_types`` they had in the last ``days`` up to the
        clock's now, most first, ties by id: "most saved this week" and the like, for any
        source that wants one. Each pair of (types, days) is read in the background every
        LIVE_TTL seconds, like the other aggregates."""
        key = (tuple(sorted(event_types)), float(days))
        counted = self._counts.get(key)
        if counted is None:
            name = f"counts-{'-'.join(key[0])}"
            load = self._through(f"{name}:{key[1]}", partial(self._read_counts, *key), pairs)
            counted = Refreshed(load, LIVE_TTL, name)
            self._counts[key] = counted
        return counted.get()

    def _read_counts(self, event_types: tuple[str, ...], days: float) -> list[tuple[str, int]]:
        now = self.clock.now()
        totals: Counter[str] = Counter()
        for item_id, _bucket, count in self.store.logs.recent_activity(
            event_types, now - days * 86_400, 86_400, until=now
        ):
            totals[item_id] += count
        return sorted(totals.items(), key=lambda pair: (-pair[1], pair[0]))

    def exposure(self) -> dict[str, tuple[int, int]]:
        """Per item over the last ``homepage.ignore_days``: (times shown on homepages, users who
        had a positive event on it within a day of being shown it). Items missing were not shown."""
        return self._exposure.get()

    def shown(self, item_ids: Sequence[str]) -> np.ndarray:
        """Times each item was shown: the last read of the impression log, or the pages this
        worker built (the larger), so exploration does not pile onto one item between reads."""
        counts = self._shown_counts()
        return np.fromiter(map(counts.get, item_ids, repeat(0)), dtype=np.int64, count=len(item_ids))

    def note_shown(self, item_ids: Iterable[str]) -> None:
        """Count a page this worker just built (its impressions reach the log in a batch);
        the counts restart every ``homepage.ignore_days``, the window the log is read over."""
        shown = list(item_ids)
        with self._noting:
            started, counts = self._shown_here
            if time.monotonic() - started > self.settings.homepage.ignore_days * 86_400:
                counts = Counter()
                self._shown_here = (time.monotonic(), counts)
                self._merged = (None, {})  # rebuilt from the log alone at the next read
            counts.update(shown)
            _keep_larger(self._merged[1], ((item_id, counts[item_id]) for item_id in shown))

    def shown_counts(self) -> dict[str, int]:
        """Times shown by item (as :meth:`shown`): the merged table, a new object after each
        re-read of the impression log (read, never change it)."""
        return self._shown_counts()

    def _shown_counts(self) -> dict[str, int]:
        """The merged count table, rebuilt after each re-read of the impression log."""
        logged = self._exposure.get()
        source, merged = self._merged
        if source is logged:
            return merged
        with self._noting:
            merged = {item_id: shown for item_id, (shown, _) in logged.items()}
            _keep_larger(merged, self._shown_here[1].items())
            self._merged = (logged, merged)
        return merged

    def _read_exposure(self) -> dict[str, tuple[int, int]]:
        since = time.time() - self.settings.homepage.ignore_days * 86_400
        return self.store.logs.item_exposure(self.settings.events.positive_types, since)


def _keep_larger(table: dict[str, int], counts: Iterable[tuple[str, int]]) -> None:
    """Raise each item's entry in ``table`` to its count where the count is larger."""
    for item_id, count in counts:
        if count > table.get(item_id, 0):
            table[item_id] = count
