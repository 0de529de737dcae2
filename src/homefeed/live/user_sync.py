"""Keeps one worker's caches of users in step with writes and deletions made anywhere (another
worker, the CLI): the store notes each change in order (``user_changes``) and every worker
drops what it caches about those users at its next look."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from homefeed.store import Store

logger = logging.getLogger(__name__)
KEEP_SECONDS = 86_400.0  # change notes older than this are pruned: every worker has read them


class UserSync:
    def __init__(self, store: Store, forget: Callable[[str, bool], None]) -> None:
        self.store, self.forget = store, forget
        self.seen = store.last_user_change()  # a worker that starts caches nothing older

    def poll(self) -> int:
        """Drop the caches of users changed since the last look; returns how many changes."""
        changes = self.store.user_changes_since(self.seen)
        for seq, user_id, deleted in changes:
            self.forget(user_id, deleted)
            self.seen = seq
        return len(changes)

    def prune(self) -> None:
        self.store.prune_user_changes(time.time() - KEEP_SECONDS)
