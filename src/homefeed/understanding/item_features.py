"""Structured item features beside the text embedding: tags (with the category) and publish time.

A sentence encoder blurs "1997" and a genre list into the meaning of the title; a cold item's
audience follows them closely (new releases draw the crowd). Mapping models read these columns
next to the text vector, so an item with no interactions is placed by both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from homefeed.domain import ItemFields


def item_tags(item: ItemFields) -> set[str]:
    """The item's tags and its category, compared case-insensitively."""
    tags = {tag.strip().lower() for tag in item.tags if tag.strip()}
    if item.category and item.category.strip():
        tags.add(item.category.strip().lower())
    return tags


@dataclass(frozen=True)
class ItemFeatureSpace:
    """Which tags get a column and where the publish-time steps fall.

    Fitted on a catalog and stored with the model that reads it, so items created later get
    the same columns. Publish time is a thermometer (one column per quantile step the item is
    at or past) plus one column for "unknown", so "newer than" is linear for a ridge map.
    """

    tags: tuple[str, ...]
    time_edges: tuple[float, ...]

    @classmethod
    def fit(cls, items: Sequence[ItemFields], max_tags: int = 64, time_steps: int = 32) -> ItemFeatureSpace:
        """The ``max_tags`` most frequent tags (ties by name) and ``time_steps`` publish-time quantiles."""
        counts = Counter(tag for item in items for tag in item_tags(item))
        ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:max_tags]
        times = np.array([item.published_at for item in items if item.published_at is not None])
        edges: tuple[float, ...] = ()
        if len(times) and time_steps > 0:
            quantiles = np.quantile(times, np.arange(1, time_steps + 1) / (time_steps + 1))
            edges = tuple(float(edge) for edge in np.unique(quantiles))
        return cls(tuple(sorted(tag for tag, _ in ranked)), edges)

    @property
    def width(self) -> int:
        return len(self.tags) + len(self.time_edges) + 1

    def transform(self, items: Sequence[ItemFields]) -> np.ndarray:
        """[len(items), width] float32: tag indicators, time thermometer, time unknown."""
        columns = {tag: index for index, tag in enumerate(self.tags)}
        edges = np.array(self.time_edges, dtype=np.float64)
        features = np.zeros((len(items), self.width), dtype=np.float32)
        for row, item in enumerate(items):
            for tag in item_tags(item):
                if tag in columns:
                    features[row, columns[tag]] = 1.0
            if item.published_at is None:
                features[row, -1] = 1.0
            else:
                features[row, len(self.tags) : len(self.tags) + len(edges)] = item.published_at >= edges
        return features

    def to_dict(self) -> dict[str, Any]:
        return {"tags": list(self.tags), "time_edges": list(self.time_edges)}

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> ItemFeatureSpace:
        return cls(tuple(stored["tags"]), tuple(float(edge) for edge in stored["time_edges"]))
