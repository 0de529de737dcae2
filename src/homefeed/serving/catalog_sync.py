"""Keeps one worker's catalog in step with items written or deleted elsewhere (another worker,
``homefeed import``): it asks the store what changed since its last look, and now and then
compares every item's write time with what it holds, for writes the quick look cannot see (a
transaction that committed long after it began)."""

from __future__ import annotations

from collections.abc import Callable

from homefeed.domain import Item
from homefeed.store import Store

MARGIN = 5.0  # seconds read again at every look: transactions that commit late, clocks apart


class CatalogSync:
    """Applies the catalog's changes to this worker through ``written`` and ``deleted`` (the
    runtime's own write hooks: catalog cache, text index, new-item vectors). A change seen
    once is not applied again, though the margin reads it again."""

    def __init__(
        self,
        store: Store,
        written: Callable[[list[Item]], None],
        deleted: Callable[[str], None],
        since: float,
    ) -> None:
        self.store = store
        self.written = written
        self.deleted = deleted
        self._since = since  # the newest change applied (or the time the catalog was loaded)
        self._written: dict[str, float] = {}  # item id -> write time applied, within the margin
        self._deleted: dict[str, float] = {}
        self._held: dict[str, float] | None = None  # item id -> write time this worker holds

    def start_from(self, versions: dict[str, float]) -> None:
        """What the worker loaded: every item id and its write time (for :meth:`reconcile`)."""
        self._held = dict(versions)

    def poll(self) -> tuple[int, int]:
        """Apply what changed since the last look; returns how many items were (written, deleted)."""
        start = self._since - MARGIN
        changed = [
            (item, at)
            for item, at in self.store.items_changed_since(start)
            if self._written.get(item.id) != at
        ]
        removed = [
            (item_id, at)
            for item_id, at in self.store.items_deleted_since(start)
            if self._deleted.get(item_id) != at
        ]
        if changed:
            self.written([item for item, _ in changed])
        for item_id, _ in removed:
            self.deleted(item_id)
        self._written.update((item.id, at) for item, at in changed)
        self._deleted.update(removed)
        if self._held is not None:
            self._held.update((item.id, at) for item, at in changed)
            for item_id, _ in removed:
                self._held.pop(item_id, None)
        self._since = max([self._since, *(at for _, at in changed), *(at for _, at in removed)])
        horizon = self._since - MARGIN
        self._written = {key: at for key, at in self._written.items() if at >= horizon}
        self._deleted = {key: at for key, at in self._deleted.items() if at >= horizon}
        return len(changed), len(removed)

    def reconcile(self) -> tuple[int, int]:
        """Compare every item's write time with what this worker holds and apply the
        difference; returns how many items were (written, deleted)."""
        if self._held is None:
            return 0, 0
        stored = self.store.item_versions()
        stale = [item_id for item_id, at in stored.items() if self._held.get(item_id) != at]
        gone = [item_id for item_id in self._held if item_id not in stored]
        found = self.store.get_items(stale)
        if found:
            self.written(found)
        for item_id in gone:
            self.deleted(item_id)
        kept = {item_id: at for item_id, at in self._held.items() if item_id in stored}
        self._held = kept | {item.id: stored[item.id] for item in found}
        return len(found), len(gone)
