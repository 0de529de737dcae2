"""Rate limits per caller (each key, each user token, each address when the API is open), with
the ``limits`` library: counted in Redis when HOMEFEED_REDIS_URL is set, so every worker shares
one count, else in the worker's memory."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many, storage, strategies

from homefeed.errors import HomefeedError


class RateLimitedError(HomefeedError):
    """Too many requests from one caller (HTTP 429, with Retry-After)."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """Counts each caller's requests in moving windows; ``limit`` as the library reads it, e.g.
    ``"20/second;600/minute"`` (None: unlimited)."""

    def __init__(self, limit: str | None, redis_url: str | None = None) -> None:
        self.items: list[RateLimitItem] = parse_many(limit) if limit else []
        self.text = limit
        backend = storage.storage_from_string(redis_url) if redis_url else storage.MemoryStorage()
        self.limiter = strategies.MovingWindowRateLimiter(backend)

    def hit(self, identity: str) -> None:
        """Count one request of ``identity``; raise :class:`RateLimitedError` when over a limit."""
        for item in self.items:
            if not self.limiter.hit(item, "homefeed", identity):
                reset, _remaining = self.limiter.get_window_stats(item, "homefeed", identity)
                wait = max(1, math.ceil(reset - time.time()))
                raise RateLimitedError(
                    f"more than {item} for this caller (HOMEFEED_ACCESS__RATE_LIMIT={self.text}); "
                    f"try again in {wait} s",
                    wait,
                )
