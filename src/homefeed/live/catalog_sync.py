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
    runtime's own write hooks: catalog cache, text index, new-item vectors). It knows each
    item's write time as this worker holds it, so a change is applied once, though the
    margin reads it again."""

    def __init__(
        self,
        store: Store,
        written: Callable[[list[Item]], None],
        deleted: Callable[[str], None],
        since: float,
        held: dict[str, float],
    ) -> None:
        """``since``: when the worker loaded the catalog; ``held``: every item id it loaded,
        with its write time."""
        self.store = store
        self.written = written
        self.deleted = deleted
        self._since = since  # the newest change applied (or the time the catalog was loaded)
        self._held = dict(held)
        self._deleted: dict[str, float] = {}  # deletions applied within the margin, by id

    def poll(self) -> tuple[int, int]:
        """Apply what changed since the last look; returns how many items were (written, deleted)."""
        start = self._since - MARGIN
        changed = [
            (item, at) for item, at in self.store.items_changed_since(start) if self._held.get(item.id) != at
        ]
        # every deletion is applied once, also of an item this worker holds only because its own
        # API wrote it after the last look (it is in no look's ``held`` yet); an item written
        # again is no longer listed as deleted (the store's rule)
        removed = [
            (item_id, at)
            for item_id, at in self.store.items_deleted_since(start)
            if self._deleted.get(item_id) != at
        ]
        self._apply([item for item, _ in changed], [item_id for item_id, _ in removed])
        self._held.update((item.id, at) for item, at in changed)
        self._deleted = {item_id: at for item_id, at in (*self._deleted.items(), *removed) if at >= start}
        self._since = max([self._since, *(at for _, at in changed), *(at for _, at in removed)])
        return len(changed), len(removed)

    def reconcile(self) -> tuple[int, int]:
        """Compare every item's write time with what this worker holds and apply the
        difference; returns how many items were (written, deleted)."""
        stored = self.store.item_versions()
        stale = [item_id for item_id, at in stored.items() if self._held.get(item_id) != at]
        gone = [item_id for item_id in self._held if item_id not in stored]
        found = self.store.get_items(stale)
        self._apply(found, gone)
        self._held.update((item.id, stored[item.id]) for item in found)
        return len(found), len(gone)

    def _apply(self, written: list[Item], deleted: list[str]) -> None:
        if written:
            self.written(written)
        for item_id in deleted:
            self.deleted(item_id)
            self._held.pop(item_id, None)
