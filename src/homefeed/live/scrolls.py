"""What each homepage showed, kept in Redis for every worker, so a cursor can be followed on any
worker the moment its page is served.

Without it a worker knows the pages it built itself and otherwise reads the impression log,
which is written in batches about a second behind: a cursor followed at once on another
worker is unknown there (a 422), and one whose earlier pages were built on several workers
may miss the latest page's items. With it, each page's items are written (one round trip)
before the page is returned, under its request id; a cursor names its pages' request ids, so
any worker reads exactly what the scroll has shown. Keys expire after ``SCROLL_SECONDS``.
"""

from __future__ import annotations

import hashlib
import logging

import redis

logger = logging.getLogger(__name__)
SCROLL_SECONDS = 3_600  # how long a page's items are kept for a cursor to follow (then: the log)


class SharedPages:
    """The items of each page by request id, and each user's pages (to forget them), in Redis.
    Every method raises ``redis.RedisError`` when Redis cannot answer; callers fall back."""

    def __init__(self, redis_url: str, scope: str) -> None:
        self.client = redis.Redis.from_url(
            redis_url, socket_timeout=1.0, socket_connect_timeout=1.0, decode_responses=True
        )
        self.prefix = f"homefeed:{hashlib.sha1(scope.encode()).hexdigest()[:12]}:scroll:"

    def remember(self, user_id: str, request_id: str, item_ids: list[str]) -> None:
        page, pages = self._page(request_id), self._user(user_id)
        with self.client.pipeline(transaction=True) as batch:
            batch.delete(page)
            if item_ids:
                batch.rpush(page, *item_ids)
            batch.expire(page, SCROLL_SECONDS)
            batch.sadd(pages, request_id)
            batch.expire(pages, SCROLL_SECONDS)
            batch.execute()

    def shown(self, user_id: str, request_ids: list[str]) -> list[str] | None:
        """The items the pages showed, first page first; None when a page is not known (or
        belongs to another user)."""
        with self.client.pipeline(transaction=False) as batch:
            batch.smismember(self._user(user_id), request_ids)  # written with each page's items
            for request_id in request_ids:
                batch.lrange(self._page(request_id), 0, -1)
            owned, *pages = batch.execute()
        if not all(owned):
            return None
        return [item_id for items in pages for item_id in items]

    def forget_user(self, user_id: str) -> None:
        pages = self._user(user_id)
        request_ids = [str(request_id) for request_id in self.client.smembers(pages)]
        self.client.delete(pages, *(self._page(request_id) for request_id in request_ids))

    def holds(self, user_id: str) -> bool:
        return bool(self.client.exists(self._user(user_id)))

    def _page(self, request_id: str) -> str:
        return f"{self.prefix}page:{request_id}"

    def _user(self, user_id: str) -> str:
        return f"{self.prefix}user:{user_id}"
