"""An in-memory view of the catalog that request-time filters read without a query."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np

from homefeed.domain import Item

T = TypeVar("T")


@dataclass(frozen=True)
class CatalogEntry:
    title: str
    category: str | None
    active: bool
    published_at: float | None
    creator: str | None = None
    image: str | None = None
    traits: ItemTraits | None = None  # what shops, news, video and courses say in attributes

    @property
    def available(self) -> bool:
        return self.traits is None or self.traits.available

    @property
    def price(self) -> float | None:
        return self.traits.price if self.traits is not None else None


SOLD_OUT = frozenset({"out_of_stock", "out of stock", "sold_out", "sold out", "discontinued", "unavailable"})


@dataclass(frozen=True)
class ItemTraits:
    """The attributes page rules read, parsed once when the item is written: stock and price
    (shops), a breaking flag (news), series and episode (video), prerequisites (courses)."""

    available: bool = True
    price: float | None = None
    breaking: bool = False
    series: str | None = None
    episode: float = 0.0  # order within the series: season * 10,000 + episode
    prerequisites: tuple[str, ...] = ()

    @classmethod
    def of(cls, attributes: Mapping[str, Any]) -> ItemTraits | None:
        """The traits in an item's attributes; None when it has none of them."""
        stock, flag = _number(attributes.get("stock")), attributes.get("availability")
        available = not (
            attributes.get("in_stock") is False
            or attributes.get("available") is False
            or (isinstance(flag, str) and flag.strip().lower() in SOLD_OUT)
            or (stock is not None and stock <= 0)
        )
        series = attributes.get("series")
        season, episode = _number(attributes.get("season")) or 0.0, _number(attributes.get("episode")) or 0.0
        traits = cls(
            available=available,
            price=_number(attributes.get("price")),
            breaking=attributes.get("breaking") is True,
            series=str(series) if series not in (None, "") else None,
            episode=season * 10_000 + episode,
            prerequisites=_ids(attributes.get("prerequisites")),
        )
        return None if traits == cls() else traits


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _ids(value: Any) -> tuple[str, ...]:
    """Item ids as a list, or as one string separated by ``|`` or ``,``."""
    if isinstance(value, str):
        value = value.replace("|", ",").split(",")
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(part).strip() for part in value if str(part).strip())


class Catalog:
    """Titles, categories and active flags by item id, kept in step with API writes."""

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, CatalogEntry] = {}
        self._cache: dict[str, tuple[int, object]] = {}  # what is derived, by name: (revision, value)
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
        shared, not copied, since pages read it."""

        def ranked() -> tuple[str, ...]:
            entries = self._entries
            active = (item_id for item_id, e in entries.items() if e.active)
            return tuple(sorted(active, key=lambda i: (-(entries[i].published_at or float("-inf")), i)))

        return self._derived("newest", ranked)

    def categories(self) -> list[str]:
        """Known categories (read on requests)."""

        def names() -> list[str]:
            return sorted({e.category for e in self._entries.values() if e.category is not None})

        return list(self._derived("categories", names))

    def episodes(self, series: str) -> list[tuple[float, str]]:
        """The series' items as (order, item id), first episode first."""

        def by_series() -> dict[str, list[tuple[float, str]]]:
            found: dict[str, list[tuple[float, str]]] = {}
            for item_id, entry in list(self._entries.items()):
                if entry.traits is not None and entry.traits.series is not None:
                    found.setdefault(entry.traits.series, []).append((entry.traits.episode, item_id))
            return {name: sorted(items) for name, items in found.items()}

        return self._derived("episodes", by_series).get(series, [])

    def prerequisites(self) -> dict[str, tuple[str, ...]]:
        """Items that name prerequisites, and theirs (shared, not copied)."""
        return self._derived(
            "prerequisites",
            lambda: {
                item_id: entry.traits.prerequisites
                for item_id, entry in list(self._entries.items())
                if entry.traits is not None and entry.traits.prerequisites
            },
        )

    def _derived(self, name: str, compute: Callable[[], T]) -> T:
        """What ``compute`` makes of the catalog, computed once per revision."""
        revision = self.revision
        cached = self._cache.get(name)
        if cached is None or cached[0] != revision:
            cached = self._cache[name] = (revision, compute())
        return cast(T, cached[1])


def _entry(item: Item) -> CatalogEntry:
    traits = ItemTraits.of(item.attributes) if item.attributes else None
    return CatalogEntry(
        item.title, item.category, item.active, item.published_at, item.creator, item.image, traits
    )


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
            self._available = np.array([e is not None and e.available for e in entries], dtype=bool)
            prices = [e.price if e is not None else None for e in entries]
            self._prices = np.array([np.nan if p is None else p for p in prices], dtype=np.float64)
            dates = [e.published_at if e is not None else None for e in entries]
            self._published = np.array([np.inf if d is None else d for d in dates], dtype=np.float64)
            self._revision = revision

    def servable(self) -> np.ndarray:
        self._refresh()
        return self._servable

    def available(self) -> np.ndarray:
        """In stock (items that say nothing of stock are)."""
        self._refresh()
        return self._available

    def priced_within(self, low: float | None, high: float | None) -> np.ndarray:
        """Items with a price in [low, high] (one without a price is in no range)."""
        self._refresh()
        with np.errstate(invalid="ignore"):
            inside = ~np.isnan(self._prices)
            if low is not None:
                inside &= self._prices >= low
            if high is not None:
                inside &= self._prices <= high
        return inside

    def published_since(self, moment: float) -> np.ndarray:
        """Items published at ``moment`` or later (one without a date is)."""
        self._refresh()
        since: np.ndarray = self._published >= moment
        return since

    def category(self, name: str) -> np.ndarray:
        self._refresh()
        mask = self._by_category.get(name)
        if mask is None:
            mask = self._categories == name
            self._by_category[name] = mask
        return mask
