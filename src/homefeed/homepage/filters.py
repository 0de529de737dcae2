"""Filters: each keeps the candidates a page may show and returns the rest as removed, so
removals can be counted and explained. Cheap set lookups; they run on every source's output."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from homefeed.homepage.page import Candidate
from homefeed.homepage.request import PageRequest
from homefeed.serving.catalog import Catalog


@dataclass(frozen=True)
class FilterResult:
    kept: list[Candidate]
    removed: list[Candidate]


class CandidateFilter(Protocol):
    name: str

    def apply(self, request: PageRequest, candidates: Sequence[Candidate]) -> FilterResult: ...


class _RuleFilter:
    """A filter defined by one rule: keep a candidate when ``keep(request, candidate)``."""

    def __init__(self, name: str, keep: Callable[[PageRequest, Candidate], bool]) -> None:
        self.name = name
        self._keep = keep

    def apply(self, request: PageRequest, candidates: Sequence[Candidate]) -> FilterResult:
        keep = self._keep
        verdicts = [keep(request, candidate) for candidate in candidates]
        if all(verdicts):
            return FilterResult(list(candidates), [])
        kept = [candidate for candidate, ok in zip(candidates, verdicts, strict=True) if ok]
        removed = [candidate for candidate, ok in zip(candidates, verdicts, strict=True) if not ok]
        return FilterResult(kept, removed)


def filter_factories(catalog: Catalog) -> dict[str, Callable[[], CandidateFilter]]:
    """Every filter by name; the pipeline builds the ones the settings list."""

    def active(_request: PageRequest, candidate: Candidate) -> bool:
        entry = catalog.get(candidate.item_id)
        return entry is not None and entry.active

    def in_category(request: PageRequest, candidate: Candidate) -> bool:
        if request.category is None:
            return True
        entry = catalog.get(candidate.item_id)
        return entry is not None and entry.category == request.category

    rules: dict[str, Callable[[PageRequest, Candidate], bool]] = {
        "seen": lambda request, candidate: candidate.item_id not in request.seen,
        "excluded": lambda request, candidate: candidate.item_id not in request.excluded,
        "disliked": lambda request, candidate: candidate.item_id not in request.disliked,
        "ignored": lambda request, candidate: candidate.item_id not in request.ignored,
        "inactive": active,
        "category": in_category,
        "duplicates": lambda request, candidate: candidate.item_id not in request.taken,
    }
    return {name: partial(_RuleFilter, name, rule) for name, rule in rules.items()}
