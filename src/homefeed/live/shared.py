"""Aggregates of the logs computed once for every worker, through Redis (``redis_url``).

Without it each worker re-reads popularity, trending and exposure from the store every
``LIVE_TTL`` seconds: N workers run every aggregate query N times, and each serves its own
moment of the log. With it, the first worker to find an aggregate missing or older than the
TTL takes a short Redis lock, reads it from the store and stores it (as JSON) for the others,
which read that copy; while it is being re-read, the others serve the last copy. Redis being
unreachable only costs the sharing: each worker then reads the store itself, as without Redis.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis

logger = logging.getLogger(__name__)
V = TypeVar("V")


class SharedAggregates:
    """Named aggregates kept in Redis for every worker of one store (``scope``)."""

    def __init__(self, redis_url: str, scope: str, ttl: float) -> None:
        self.client = redis.Redis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.prefix = f"homefeed:{hashlib.sha1(scope.encode()).hexdigest()[:12]}:live:"
        self.ttl = ttl
        self._warned = False

    def through(self, name: str, load: Callable[[], V], decode: Callable[[Any], V]) -> Callable[[], V]:
        """``load`` shared: a function that returns the workers' common copy of ``name``
        (``decode`` turns its JSON back into the value), reading the store only when it is due."""

        def shared() -> V:
            return self._get(self.prefix + name, load, decode)

        return shared

    def _get(self, key: str, load: Callable[[], V], decode: Callable[[Any], V]) -> V:
        try:
            raw = self.client.get(key)
            stored = json.loads(raw) if raw else None
            if stored is not None and time.time() - float(stored["at"]) < self.ttl:
                return decode(stored["value"])
            mine = bool(self.client.set(key + ":lock", "1", nx=True, ex=max(5, round(self.ttl * 2))))
        except (redis.RedisError, ValueError, KeyError) as error:
            self._warn(error)
            return load()
        if not mine and stored is not None:
            return decode(stored["value"])  # another worker is reading it: the last copy meanwhile
        value = load()
        if mine:
            try:
                body = json.dumps({"at": time.time(), "value": value})
                self.client.set(key, body, ex=max(60, round(self.ttl * 20)))
                self.client.delete(key + ":lock")
            except redis.RedisError as error:
                self._warn(error)
        return value

    def _warn(self, error: Exception) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "live aggregates are not shared through Redis (%s); each worker reads its own", error
            )


def pairs(value: Any) -> list[tuple[Any, Any]]:
    """A list of pairs back from JSON's lists."""
    return [(first, second) for first, second in value]


def pair_table(value: Any) -> dict[str, tuple[Any, Any]]:
    """A table of pairs back from JSON's lists."""
    return {key: (first, second) for key, (first, second) in value.items()}
