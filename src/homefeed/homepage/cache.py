"""A small per-key cache whose entries expire, for what a page reads about a user."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

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
