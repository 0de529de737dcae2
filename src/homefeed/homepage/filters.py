"""Filters: each keeps the candidates a page may show and returns the rest as removed, so
removals can be counted and explained. One pass over the sources' candidates, cheapest filter
first; the sources already pass over what filters remove, so this is the guarantee."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from homefeed.homepage.page import Candidate
from homefeed.homepage.query import PageQuery
from homefeed.live.catalog import Catalog

QUERY, CATALOG = 0, 1  # what a filter costs: a lookup in the query's sets, or in the catalog


@dataclass(frozen=True)
class FilterResult:
    kept: list[Candidate]
    removed: list[Candidate]


class CandidateFilter(Protocol):
    name: str
    cost: int  # filters run cheapest first (QUERY, then CATALOG)

    def apply(self, query: PageQuery, candidates: Sequence[Candidate]) -> FilterResult: ...


class _RuleFilter:
    """A filter defined by one rule: keep a candidate when ``keep(query, candidate)``."""

    def __init__(self, name: str, cost: int, keep: Callable[[PageQuery, Candidate], bool]) -> None:
        self.name, self.cost = name, cost
        self._keep = keep

    def apply(self, query: PageQuery, candidates: Sequence[Candidate]) -> FilterResult:
        keep = self._keep
        verdicts = [keep(query, candidate) for candidate in candidates]
        if all(verdicts):
            return FilterResult(list(candidates), [])
        kept = [candidate for candidate, ok in zip(candidates, verdicts, strict=True) if ok]
        removed = [candidate for candidate, ok in zip(candidates, verdicts, strict=True) if not ok]
        return FilterResult(kept, removed)


class _DuplicatesFilter:
    """Each item once: later candidates for an item already kept are removed."""

    name, cost = "duplicates", QUERY

    def apply(self, query: PageQuery, candidates: Sequence[Candidate]) -> FilterResult:
        kept: list[Candidate] = []
        removed: list[Candidate] = []
        seen: set[str] = set()
        for candidate in candidates:
            (removed if candidate.item_id in seen else kept).append(candidate)
            seen.add(candidate.item_id)
        return FilterResult(kept, removed)


def filter_factories(catalog: Catalog) -> dict[str, Callable[[], CandidateFilter]]:
    """Every filter by name; the pipeline builds the ones the settings list."""

    def active(_query: PageQuery, candidate: Candidate) -> bool:
        entry = catalog.get(candidate.item_id)
        return entry is not None and entry.active

    def in_category(query: PageQuery, candidate: Candidate) -> bool:
        if query.category is None:
            return True
        entry = catalog.get(candidate.item_id)
        return entry is not None and entry.category == query.category

    def available(_query: PageQuery, candidate: Candidate) -> bool:
        entry = catalog.get(candidate.item_id)
        return entry is None or entry.available  # an unknown item is the inactive filter's

    def in_price_range(query: PageQuery, candidate: Candidate) -> bool:
        if query.price is None:
            return True
        entry = catalog.get(candidate.item_id)
        return entry is not None and query.price.contains(entry.price)

    def recent(query: PageQuery, candidate: Candidate) -> bool:
        entry = catalog.get(candidate.item_id)
        published = entry.published_at if entry is not None else None
        return query.oldest is None or published is None or published >= query.oldest

    def unlocked(query: PageQuery, candidate: Candidate) -> bool:
        required = catalog.prerequisites().get(candidate.item_id)
        return required is None or all(needed in query.completed for needed in required)

    rules: dict[str, tuple[int, Callable[[PageQuery, Candidate], bool]]] = {
        "seen": (QUERY, lambda query, candidate: candidate.item_id not in query.seen),
        "excluded": (QUERY, lambda query, candidate: candidate.item_id not in query.excluded),
        "disliked": (QUERY, lambda query, candidate: candidate.item_id not in query.disliked),
        "ignored": (QUERY, lambda query, candidate: candidate.item_id not in query.ignored),
        "inactive": (CATALOG, active),
        "category": (CATALOG, in_category),
        "unavailable": (CATALOG, available),
        "price": (CATALOG, in_price_range),
        "stale": (CATALOG, recent),
        "prerequisites": (CATALOG, unlocked),
    }
    factories: dict[str, Callable[[], CandidateFilter]] = {
        name: partial(_RuleFilter, name, cost, rule) for name, (cost, rule) in rules.items()
    }
    factories["duplicates"] = _DuplicatesFilter
    return factories


def cheapest_first(filters: Sequence[CandidateFilter]) -> list[CandidateFilter]:
    """The declared filters, cheapest first (declared order among equals)."""
    return sorted(filters, key=lambda candidate_filter: candidate_filter.cost)


def filter_pass(
    filters: Sequence[CandidateFilter], query: PageQuery, candidates: Sequence[Candidate]
) -> tuple[list[Candidate], dict[str, int]]:
    """The candidates every filter keeps, and how many each filter removed."""
    found = list(candidates)
    removed: dict[str, int] = {}
    for candidate_filter in filters:
        if not found:
            break
        result = candidate_filter.apply(query, found)
        if result.removed:
            removed[candidate_filter.name] = removed.get(candidate_filter.name, 0) + len(result.removed)
        found = result.kept
    return found, removed
