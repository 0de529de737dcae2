"""Small caches for what pages read: per-key entries that expire (about a user), and single
values re-read in the background (aggregates of the logs)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class TimedCache(Generic[K, V]):
    """Values kept ``ttl`` seconds; cleared whole when ``size`` keys are held (cheap, and a
    cold cache only costs one read per key)."""

    def __init__(self, ttl: float, size: int = 100_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K, load: Callable[[K], V]) -> V:
        """The cached value, or ``load(key)`` stored now (an exception is not cached)."""
        cached = self._entries.get(key)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        value = load(key)
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (time.monotonic(), value)
        return value

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def holds(self, key: K) -> bool:
        return key in self._entries


class Refreshed(Generic[V]):
    """One value re-read every ``ttl`` seconds by a background thread. Readers get the last
    value at once (only the very first read waits), so a slow aggregate query (1.4 s over 2.5
    million impressions) never holds up a page; a failed re-read keeps the old value.

    A re-read that takes long spaces the next ones out, so re-reading takes at most
    ``busy_share`` of the time: at 10M events the exposure and trending reads took about as much
    of the worker's time as its pages (in Python, holding the lock pages need to run)."""

    def __init__(self, load: Callable[[], V], ttl: float, name: str, busy_share: float = 0.1) -> None:
        self.load, self.ttl, self.name, self.busy_share = load, ttl, name, busy_share
        self._value: tuple[float, V] | None = None
        self._wait = ttl  # seconds between re-reads: ttl, or more after slow ones
        self._refreshing = threading.Lock()
        self._first = threading.Lock()  # one first read: a reader that comes during it waits for it

    def get(self) -> V:
        current = self._value
        if current is None:
            return self._first_value()
        if time.monotonic() - current[0] >= self._wait and self._refreshing.acquire(blocking=False):
            threading.Thread(
                target=self._refresh, args=(current[1],), name=f"refresh-{self.name}", daemon=True
            ).start()
        return current[1]

    @property
    def loaded(self) -> bool:
        return self._value is not None

    def warm(self) -> threading.Thread | None:
        """Begin the first read in the background (at 10M events the slowest takes half a
        minute, which a worker's first page would otherwise wait); None when it is read or
        being read. After a failed read, a call tries again."""
        if self._value is not None or self._first.locked():
            return None
        thread = threading.Thread(target=self._warm, name=f"warm-{self.name}", daemon=True)
        thread.start()
        return thread

    def _warm(self) -> None:
        try:
            self._first_value()
        except Exception:
            logger.exception("reading %s failed; the first page that needs it reads it again", self.name)

    def _first_value(self) -> V:
        with self._first:
            current = self._value
            if current is None:
                current = (time.monotonic(), self._timed_load())
                self._value = current
            return current[1]

    def _timed_load(self) -> V:
        began = time.monotonic()
        try:
            return self.load()
        finally:
            self._wait = max(self.ttl, (time.monotonic() - began) / self.busy_share)

    def _refresh(self, stale: V) -> None:
        try:
            self._value = (time.monotonic(), self._timed_load())
        except Exception:
            logger.exception("re-reading %s failed; serving the previous value", self.name)
            self._value = (time.monotonic(), stale)
        finally:
            self._refreshing.release()
