"""Items a search leaves out, kept as the parts they came from, so a large part that many
searches share is mapped to an index's slots once."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from functools import cached_property


class Exclusion(Collection[str]):
    """The union of a few collections of item ids, kept apart. A page's holds its user's few
    seen and ignored items and, for a stated dislike, thousands of items that every page of
    that text shares (one frozenset): :class:`~homefeed.vectors.VectorIndex` maps such a
    shared part to its slots once per revision instead of item by item on every page."""

    def __init__(self, *parts: Collection[str]) -> None:
        self.parts = tuple(part for part in parts if part)

    def __contains__(self, item_id: object) -> bool:
        return any(item_id in part for part in self.parts)

    def __iter__(self) -> Iterator[str]:
        return iter(self._union)

    def __len__(self) -> int:
        return len(self._union)

    def __bool__(self) -> bool:
        return bool(self.parts)

    @cached_property
    def _union(self) -> frozenset[str]:
        return frozenset().union(*self.parts)
