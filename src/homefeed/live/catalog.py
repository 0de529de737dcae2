"""An in-memory view of the catalog that request-time filters read without a query."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from homefeed.domain import Item


@dataclass(frozen=True)
class CatalogEntry:
    title: str
    category: str | None
    active: bool
    published_at: float | None
    creator: str | None = None
    image: str | None = None


class Catalog:
    """Titles, categories and active flags by item id, kept in step with API writes."""

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, CatalogEntry] = {}
        self._newest: tuple[int, tuple[str, ...]] | None = None
        self._categories: tuple[int, list[str]] | None = None
        self.revision = 0
        self.replace(items)

    def replace(self, items: Iterable[Item]) -> None:
        entries = {item.id: _entry(item) for item in items}
        with self._lock:
            self._entries = entries
            self.revision += 1

    def upsert(self, items: Iterable[Item]) -> None:
        with self._lock:
            for item in items:
                self._entries[item.id] = _entry(item)
            self.revision += 1

    def remove(self, item_id: str) -> None:
        with self._lock:
            self._entries.pop(item_id, None)
            self.revision += 1

    def ids(self) -> list[str]:
        return list(self._entries)

    def get(self, item_id: str) -> CatalogEntry | None:
        return self._entries.get(item_id)

    def category_of(self, item_id: str) -> str | None:
        """The item's category (None: no category, or not in the catalog)."""
        entry = self._entries.get(item_id)
        return entry.category if entry is not None else None

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def missing(self, item_ids: Iterable[str]) -> list[str]:
        """The ids not in the catalog, sorted, for an error message."""
        return sorted({item_id for item_id in item_ids if item_id not in self._entries})

    def newest(self) -> tuple[str, ...]:
        """Active item ids, most recently published first (unknown dates last, then by id);
        computed once per catalog revision and shared, not copied, since pages read it."""
        cached = self._newest
        if cached is not None and cached[0] == self.revision:
            return cached[1]
        revision = self.revision
        ranked = tuple(
            sorted(
                (item_id for item_id, e in self._entries.items() if e.active),
                key=lambda item_id: (-(self._entries[item_id].published_at or float("-inf")), item_id),
            )
        )
        self._newest = (revision, ranked)
        return ranked

    def categories(self) -> list[str]:
        """Known categories, recomputed only when the catalog changed (read on requests)."""
        cached = self._categories
        if cached is None or cached[0] != self.revision:
            revision = self.revision
            names = sorted({e.category for e in self._entries.values() if e.category is not None})
            cached = self._categories = (revision, names)
        return list(cached[1])


def _entry(item: Item) -> CatalogEntry:
    return CatalogEntry(item.title, item.category, item.active, item.published_at, item.creator, item.image)


class VocabularyMasks:
    """Boolean masks over a model's item vocabulary: servable items, and per category.

    Rebuilt lazily whenever the catalog's revision changes, so an item deactivated
    through the API stops being served at the next request.
    """

    def __init__(self, catalog: Catalog, item_ids: Sequence[str]) -> None:
        self.catalog = catalog
        self.item_ids = list(item_ids)
        self._revision = -1
        self._servable = np.zeros(len(self.item_ids), dtype=bool)
        self._by_category: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        if self._revision == self.catalog.revision:
            return
        with self._lock:
            revision = self.catalog.revision
            entries = [self.catalog.get(item_id) for item_id in self.item_ids]
            self._servable = np.array([e is not None and e.active for e in entries], dtype=bool)
            self._by_category = {}
            self._categories = np.array(
                [e.category if e is not None else None for e in entries], dtype=object
            )
            self._revision = revision

    def servable(self) -> np.ndarray:
        self._refresh()
        return self._servable

    def category(self, name: str) -> np.ndarray:
        self._refresh()
        mask = self._by_category.get(name)
        if mask is None:
            mask = self._categories == name
            self._by_category[name] = mask
        return mask
