"""Fair exposure, as the logs show it: per category or creator, its share of the active catalog
against its share of homepage impressions. A ratio above 1 means the pages show the group more
than its size in the catalog; far below 1, the group is starved."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from homefeed.evaluation.metrics import gini
from homefeed.store import Store

FIELDS = ("category", "creator")


@dataclass(frozen=True)
class GroupExposure:
    group: str  # "" for items without one
    items: int  # active items of the group in the catalog
    shown_items: int  # of them, shown at least once
    impressions: int
    catalog_share: float
    exposure_share: float

    @property
    def ratio(self) -> float | None:
        """Exposure share over catalog share (None for a group with no active item)."""
        return self.exposure_share / self.catalog_share if self.catalog_share else None


@dataclass(frozen=True)
class FairnessReport:
    by: str
    since: float
    impressions: int
    groups: list[GroupExposure]  # most exposed first
    gini: float  # of the groups' impressions per catalog item: 0 when each is shown as its size


def fairness_report(store: Store, by: str, since: float) -> FairnessReport:
    """Every group's catalog and exposure shares for the impressions since ``since``."""
    if by not in FIELDS:
        raise ValueError(f"by: expected one of {list(FIELDS)}, got {by!r}")
    sizes: Counter[str] = Counter((getattr(item, by) or "") for item in store.iter_items() if item.active)
    shown = store.logs.exposure_by(by, since)
    total_items, total_shown = sum(sizes.values()), sum(count for count, _ in shown.values())
    groups = [
        GroupExposure(
            group,
            sizes.get(group, 0),
            shown.get(group, (0, 0))[1],
            shown.get(group, (0, 0))[0],
            sizes.get(group, 0) / total_items if total_items else 0.0,
            shown.get(group, (0, 0))[0] / total_shown if total_shown else 0.0,
        )
        for group in sorted(set(sizes) | set(shown))
    ]
    groups.sort(key=lambda found: (-found.impressions, found.group))
    per_item = np.array(
        [found.impressions / found.items for found in groups if found.items], dtype=np.float64
    )
    return FairnessReport(by, since, total_shown, groups, gini(per_item))
