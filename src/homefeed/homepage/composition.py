"""Composing the page from the sources' candidates: an ordered list of small steps, each taking
the draft page and returning the next one (``steps`` in ``pipeline.py`` declares the order).

The rule they implement, without a ranker across sources: the leading (personal) source's
order leads, its first slots diversified; the other sources' picks are interleaved every
fourth slot from the third, so the model's best stay on top and new items are still seen;
no category takes more than its cap; fill sources complete a short page; exploration and
promotions take their slots last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from homefeed.config import HomepageSettings
from homefeed.homepage.diversity import mmr_order
from homefeed.homepage.page import Candidate
from homefeed.homepage.query import PageQuery, tuned
from homefeed.homepage.retrieval import Retrieval
from homefeed.homepage.sections import Row
from homefeed.homepage.semantic import SemanticSources
from homefeed.homepage.sources import CandidateSource
from homefeed.live.catalog import Catalog

FIRST_EXTRA, EXTRA_EVERY = 2, 4


@dataclass(frozen=True)
class Draft:
    """The page while it is composed. ``proposed`` holds every item a source proposed that the
    page keeps to itself: later sources pass over it, and so does exploration; an item a step
    lets go (beyond the diversified slots, over a category cap) leaves it."""

    items: tuple[Candidate, ...] = ()
    leading: tuple[Candidate, ...] = ()  # the leading source's picks, in its order
    extras: tuple[Candidate, ...] = ()  # the other sources' picks, in their declared order
    proposed: frozenset[str] = frozenset()
    degradations: tuple[str, ...] = ()
    removed: Mapping[str, int] = field(default_factory=dict)  # filter name -> candidates removed

    def evolve(self, **changes: object) -> Draft:
        """This draft with ``changes`` (like ``dataclasses.replace``, without its per-call
        inspection of the fields: a page makes several)."""
        draft = object.__new__(Draft)
        draft.__dict__.update(self.__dict__, **changes)
        return draft

    def let_go(self, candidates: Sequence[Candidate]) -> frozenset[str]:
        return self.proposed - {candidate.item_id for candidate in candidates}


class Step(Protocol):
    """One step of composing the page."""

    def apply(self, query: PageQuery, draft: Draft) -> Draft: ...


class HearDislikes:
    """What the user just said "not for me" to moves down the page at once: in the leading and
    the other sources' lists, items by the creator of a disliked item, items whose text is
    nearly a disliked item's (``dislike_similarity``) and items of a category disliked twice or
    more go after the rest, in their order. Only the latest events count (the query's)."""

    def __init__(
        self, declared: HomepageSettings, catalog: Catalog, semantic: SemanticSources | None
    ) -> None:
        self.threshold, self.catalog, self.semantic = declared.dislike_similarity, catalog, semantic

    def apply(self, query: PageQuery, draft: Draft) -> Draft:
        pairs = zip(query.events, query.weights, strict=True)
        disliked = [event.item_id for event, weight in pairs if weight < 0]
        if self.threshold is None or not disliked:
            return draft
        return draft.evolve(
            leading=self._demoted(draft.leading, disliked, self.threshold),
            extras=self._demoted(draft.extras, disliked, self.threshold),
        )

    def _demoted(
        self, candidates: tuple[Candidate, ...], disliked: list[str], threshold: float
    ) -> tuple[Candidate, ...]:
        if not candidates:
            return candidates
        entries = [entry for item_id in disliked if (entry := self.catalog.get(item_id)) is not None]
        creators = {entry.creator for entry in entries if entry.creator}
        counted = Counter(entry.category for entry in entries if entry.category)
        twice = {category for category, count in counted.items() if count >= 2}
        down = np.zeros(len(candidates), dtype=bool)
        if self.semantic is not None:
            like = _unit(self.semantic.space.vectors(disliked))
            vectors = _unit(self.semantic.space.vectors([candidate.item_id for candidate in candidates]))
            down = (vectors @ like.T).max(axis=1) >= threshold
        for position, candidate in enumerate(candidates):
            entry = self.catalog.get(candidate.item_id)
            if entry is not None and (entry.creator in creators or entry.category in twice):
                down[position] = True
        kept = [candidate for candidate, moved in zip(candidates, down, strict=True) if not moved]
        return (*kept, *(candidate for candidate, moved in zip(candidates, down, strict=True) if moved))


def _unit(vectors: np.ndarray) -> np.ndarray:
    unit: np.ndarray = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return unit


class Diversify:
    """The first ``diversity_depth`` slots of the leading source in MMR order over the text
    vectors of twice as many of its best candidates, then the rest in the model's order, ``n``
    in all. Without text vectors, the model's order."""

    def __init__(self, declared: HomepageSettings, semantic: SemanticSources | None) -> None:
        self.declared, self.semantic = declared, semantic

    def apply(self, query: PageQuery, draft: Draft) -> Draft:
        found, n = list(draft.leading), query.n
        depth = min(self.declared.diversity_depth, n)
        diversity = tuned(query.version, self.declared, "diversity")
        if diversity <= 0 or self.semantic is None or len(found) <= 1:
            kept = found[:n]
        else:
            pool = found[: 2 * depth]
            vectors = self.semantic.space.vectors([candidate.item_id for candidate in pool])
            unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            scores = np.array([candidate.score for candidate in pool], dtype=np.float64)
            picked = mmr_order(scores, unit, depth, diversity).tolist()
            chosen = set(picked)
            rest = [candidate for position, candidate in enumerate(found) if position not in chosen]
            kept = [pool[position] for position in picked] + rest[: n - len(picked)]
        placed = {candidate.item_id for candidate in kept}
        left = [candidate for candidate in found if candidate.item_id not in placed]
        return draft.evolve(leading=tuple(kept), proposed=draft.let_go(left))


class Interleave:
    """The picks of sources whose row leads the page first (continue watching, breaking news),
    then the leading picks in order with the other sources' picks at slots 3, 7, 11, ... (all
    first when the leading source has none), cut to ``n``."""

    def __init__(self, rows: Mapping[str, Row]) -> None:
        self.rows = rows

    def apply(self, query: PageQuery, draft: Draft) -> Draft:
        merged = list(draft.leading)
        position = FIRST_EXTRA
        ahead: list[Candidate] = []
        for extra in draft.extras:
            row = self.rows.get(extra.source)
            if row is not None and row.leads:
                ahead.append(extra)
                continue
            merged.insert(min(position, len(merged)), extra)
            position += EXTRA_EVERY if draft.leading else 1
        return draft.evolve(items=tuple([*ahead, *merged][: query.n]))


class CapCategories:
    """No more than ``max_per_category`` items of one category on the page (none: no cap)."""

    def __init__(self, declared: HomepageSettings, catalog: Catalog) -> None:
        self.cap, self.catalog = declared.max_per_category, catalog

    def apply(self, query: PageQuery, draft: Draft) -> Draft:
        kept, left = capped(draft.items, self.cap, self.catalog)
        return draft.evolve(items=tuple(kept), proposed=draft.let_go(left))


class Fill:
    """Fill sources complete a short page, in their declared order, within the category cap."""

    def __init__(
        self,
        sources: Sequence[CandidateSource],
        retrieval: Retrieval,
        declared: HomepageSettings,
        catalog: Catalog,
    ) -> None:
        self.sources, self.retrieval = sources, retrieval
        self.cap, self.catalog = declared.max_per_category, catalog

    def apply(self, query: PageQuery, draft: Draft) -> Draft:
        for source in self.sources:
            if len(draft.items) >= query.n:
                break
            wanted = query.n - len(draft.items)
            quota = wanted if self.cap is None else 3 * wanted  # over-cap ones are passed over
            found = self.retrieval.gather(query, [(source, quota)], draft.proposed)
            kept, left = capped(found.candidates, self.cap, self.catalog, draft.items)
            proposed = (draft.proposed | {candidate.item_id for candidate in found.candidates}) - {
                candidate.item_id for candidate in left
            }
            draft = draft.evolve(
                items=draft.items + tuple(kept[:wanted]),
                proposed=frozenset(proposed),
                degradations=draft.degradations + found.degradations,
                removed=_added(draft.removed, found.removed),
            )
        return draft


def capped(
    candidates: Sequence[Candidate], cap: int | None, catalog: Catalog, placed: Sequence[Candidate] = ()
) -> tuple[list[Candidate], list[Candidate]]:
    """``candidates`` without those that would put more than ``cap`` items of one category
    on the page (counting ``placed``), and those left out."""
    if cap is None:
        return list(candidates), []
    counts = Counter(category_of(candidate.item_id, catalog) for candidate in placed)
    kept, left = [], []
    for candidate in candidates:
        category = category_of(candidate.item_id, catalog)
        if category is not None and counts[category] >= cap:
            left.append(candidate)
            continue
        counts[category] += 1
        kept.append(candidate)
    return kept, left


def category_of(item_id: str, catalog: Catalog) -> str | None:
    entry = catalog.get(item_id)
    return entry.category if entry is not None else None


def _added(counts: Mapping[str, int], more: Mapping[str, int]) -> dict[str, int]:
    total = dict(counts)
    for name, count in more.items():
        total[name] = total.get(name, 0) + count
    return total
