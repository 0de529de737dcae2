"""The scoring stage: scorers give scores to the lists sources proposed unscored, and those
lists are then ordered by them. A scorer returns a score for every item of a list, in the
list's order, or None for a list it does not score.

The learned scorer is the LambdaMART ranker: the personal source proposes the ranker's
candidates with the feature rows the ranker computed once for them, and this stage scores
those rows; the rows stay on the candidates, so ``explain`` shows them at no extra cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from homefeed.homepage.candidates import Proposal, Ranked
from homefeed.homepage.query import PageQuery


class Scorer(Protocol):
    name: str

    def score(self, query: PageQuery, ranked: Ranked) -> np.ndarray | None: ...


class LearnedScorer:
    """Scores feature rows with the model that computed them (``Recommender.score_features``)."""

    name = "learned"

    def score(self, query: PageQuery, ranked: Ranked) -> np.ndarray | None:
        bundle = query.bundle
        if ranked.features is None or bundle is None:
            return None
        model = bundle.find(ranked.features.model)
        return None if model is None else model.score_features(ranked.features.rows)


SCORERS: tuple[Scorer, ...] = (LearnedScorer(),)


def scored(query: PageQuery, proposal: Proposal, scorers: Sequence[Scorer] = SCORERS) -> Proposal:
    """The proposal with every unscored list scored by the first scorer that takes it and
    ordered best first (ties keep the list's order); a list no scorer takes is dropped."""
    if all(ranked.scores is not None for ranked in proposal.lists):
        return proposal
    lists: list[Ranked] = []
    for ranked in proposal.lists:
        if ranked.scores is not None:
            lists.append(ranked)
            continue
        scores = next(
            (found for scorer in scorers if (found := scorer.score(query, ranked)) is not None), None
        )
        if scores is not None:
            lists.append(ranked.ordered_by(np.asarray(scores, dtype=np.float64)))
    return Proposal(tuple(lists), proposal.quota, proposal.turns, proposal.degradations, proposal.cold)
