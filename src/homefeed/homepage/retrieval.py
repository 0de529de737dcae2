"""The candidate stages of the page: every declared source proposes (each may fail open and
says why), scorers score what was proposed unscored, one merge takes each source's quota in
declared order (an item goes to the first source that proposed it), and one filter pass
checks what may be shown, cheapest filter first."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from homefeed.homepage.candidates import Ask, Proposal, take
from homefeed.homepage.filters import CandidateFilter, cheapest_first, filter_pass
from homefeed.homepage.page import Candidate
from homefeed.homepage.query import PageQuery
from homefeed.homepage.scoring import SCORERS, Scorer, scored
from homefeed.homepage.sources import CandidateSource

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gathered:
    """What the sources gave a page: each source's candidates in declared order (after the
    merge and the filters), what went wrong, what the filters removed, and whether a source
    had nothing to go on for this user."""

    by_source: tuple[tuple[str, tuple[Candidate, ...]], ...] = ()
    degradations: tuple[str, ...] = ()
    removed: Mapping[str, int] = field(default_factory=dict)
    cold: bool = False
    seconds: Mapping[str, float] = field(default_factory=dict)  # each source's proposal, timed

    @property
    def candidates(self) -> list[Candidate]:
        return [candidate for _, found in self.by_source for candidate in found]

    def of(self, source: str) -> tuple[Candidate, ...]:
        return next((found for name, found in self.by_source if name == source), ())


class Retrieval:
    """Runs sources, scorers, the merge and the filters for one page (or one fill source)."""

    def __init__(self, filters: Sequence[CandidateFilter], scorers: Sequence[Scorer] = SCORERS) -> None:
        self.filters = cheapest_first(filters)
        self.scorers = tuple(scorers)

    def gather(
        self,
        query: PageQuery,
        sources: Sequence[tuple[CandidateSource, int]],
        taken: Collection[str] = frozenset(),
    ) -> Gathered:
        """The candidates of ``sources``, each asked for its quota; items in ``taken`` (placed
        before) are passed over."""
        degradations: list[str] = []
        proposals: list[tuple[str, Proposal]] = []
        spare = len(taken)  # earlier sources take at most this many of a source's items
        seconds: dict[str, float] = {}
        for source, quota in sources:
            began = time.perf_counter()
            proposal = self._propose(source, query, Ask(quota, spare))
            seconds[source.name] = time.perf_counter() - began
            spare += min(proposal.quota, len(proposal))
            degradations += proposal.degradations
            proposals.append((source.name, proposal))
        took = set(taken)
        picked: list[tuple[str, list[Candidate]]] = []
        for name, proposal in proposals:
            picks = take(proposal, took, query.explain)
            took.update(candidate.item_id for candidate in picks)
            picked.append((name, picks))
        every = [candidate for _, picks in picked for candidate in picks]
        kept, removed = filter_pass(self.filters, query, every)
        if len(kept) == len(every):  # the usual case: the sources passed over what filters remove
            by_source = tuple((name, tuple(picks)) for name, picks in picked)
        else:
            passed = {id(candidate) for candidate in kept}
            by_source = tuple((name, tuple(c for c in picks if id(c) in passed)) for name, picks in picked)
        cold = any(proposal.cold for _, proposal in proposals)
        return Gathered(by_source, tuple(degradations), removed, cold, seconds)

    def _propose(self, source: CandidateSource, query: PageQuery, ask: Ask) -> Proposal:
        """The source's proposal, scored and ordered; a source (or its scoring) that fails
        proposes nothing and says so."""
        try:
            return scored(query, source.fetch(query, ask), self.scorers)
        except Exception as error:
            logger.exception("source %s failed for user %s", source.name, query.user_id)
            return Proposal(degradations=(f"{source.name} recommendations failed ({type(error).__name__})",))
