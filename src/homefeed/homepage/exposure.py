"""Amortized exposure control: no category or creator takes more than ``exposure_cap`` times
its share of the active catalog in homepage impressions (the ratio the fairness report shows),
over the impression window. While a group is over its cap, its items leave the pages (the
leading source is asked for a page more to replace them) until its share falls back; a page is
never left short for it. Its cost in accuracy is measured by ``benchmarks/exposure_ml100k.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from homefeed.config import HomepageSettings
from homefeed.homepage.composition import Draft
from homefeed.homepage.page import Candidate
from homefeed.homepage.query import PageQuery
from homefeed.homepage.sources import PageServices
from homefeed.live.catalog import Catalog

GroupOf = Callable[[str], Iterable[str]]


def over_exposed(
    shown: Mapping[str, float], catalog_share: Mapping[str, float], cap: float, least: float
) -> frozenset[str]:
    """Groups whose share of the ``shown`` impressions is above ``cap`` times their share of
    the catalog; none before ``least`` impressions in all (too few to judge)."""
    total = sum(shown.values())
    if total < least or total <= 0:
        return frozenset()
    return frozenset(
        group
        for group, count in shown.items()
        if (share := catalog_share.get(group, 0.0)) > 0 and count / total > cap * share
    )


def kept_positions(groups: Sequence[Iterable[str]], over: frozenset[str], keep: int) -> list[int]:
    """Positions of a ranked list (each entry's groups) to keep: every entry of no ``over``
    group, and the first of the others while fewer than ``keep`` would be left."""
    held = [any(group in over for group in entry) for entry in groups]
    spare = max(0, keep - (len(held) - sum(held)))
    kept = []
    for position, over_cap in enumerate(held):
        if over_cap:
            if spare <= 0:
                continue
            spare -= 1
        kept.append(position)
    return kept


def held_back(
    candidates: Sequence[Candidate], group_of: GroupOf, over: frozenset[str], keep: int
) -> tuple[Candidate, ...]:
    """``candidates`` without those of an ``over`` group, unless fewer than ``keep`` would be
    left: then the first of them make up the number (all in their order)."""
    if not over:
        return tuple(candidates)
    positions = kept_positions([list(group_of(candidate.item_id)) for candidate in candidates], over, keep)
    return tuple(candidates[position] for position in positions)


class BalanceExposure:
    """The page step, before the page is cut: holds back the items of groups over their
    exposure cap (off when ``exposure_cap`` is None). Group shares are counted from the live
    impression counts (the log's, or this worker's pages when larger), re-read with them."""

    def __init__(self, declared: HomepageSettings, catalog: Catalog, services: PageServices) -> None:
        self.cap, self.kinds = declared.exposure_cap, tuple(declared.exposure_groups)
        self.least = float(declared.exposure_min_impressions)
        self.catalog, self.live = catalog, services.live
        self._shares: tuple[int, dict[str, float]] = (-1, {})
        self._over: tuple[object, int, frozenset[str]] = (None, -1, frozenset())

    def groups_of(self, item_id: str) -> list[str]:
        """The groups an item counts in: ``category:X`` and ``creator:Y``, as declared."""
        entry = self.catalog.get(item_id)
        if entry is None:
            return []
        values = {"category": entry.category, "creator": entry.creator}
        return [f"{kind}:{values[kind]}" for kind in self.kinds if values[kind]]

    def apply(self, query: PageQuery, draft: Draft) -> Draft:
        if self.cap is None or not self.kinds:
            return draft
        over = self.over()
        if not over:
            return draft
        leading = held_back(draft.leading, self.groups_of, over, query.n)
        extras = held_back(draft.extras, self.groups_of, over, 0)
        return draft.evolve(leading=leading, extras=extras, proposed=draft.let_go([*leading, *extras]))

    def over(self) -> frozenset[str]:
        """The groups over their cap now (worked out once per re-read of the counts)."""
        assert self.cap is not None
        counts, revision = self.live.shown_counts(), self.catalog.revision
        source, seen, over = self._over
        if source is counts and seen == revision:
            return over
        shown: Counter[str] = Counter()
        for item_id, times in counts.items():
            for group in self.groups_of(item_id):
                shown[group] += times
        shares = self._catalog_shares()
        over = frozenset().union(
            *(
                over_exposed(_of_kind(shown, kind), _of_kind(shares, kind), self.cap, self.least)
                for kind in self.kinds
            )
        )
        self._over = (counts, revision, over)
        return over

    def _catalog_shares(self) -> dict[str, float]:
        """Each group's share of the active items that have a group of its kind, once per
        catalog revision."""
        revision, shares = self._shares
        if revision == self.catalog.revision:
            return shares
        revision = self.catalog.revision
        active = [item for item in self.catalog.ids() if (entry := self.catalog.get(item)) and entry.active]
        counted = Counter(group for item_id in active for group in self.groups_of(item_id))
        shares = {}
        for kind in self.kinds:
            of_kind = _of_kind(counted, kind)
            total = sum(of_kind.values())
            shares.update({group: count / total for group, count in of_kind.items()})
        self._shares = (revision, shares)
        return shares


def _of_kind(values: Mapping[str, float], kind: str) -> dict[str, float]:
    return {group: value for group, value in values.items() if group.startswith(f"{kind}:")}
