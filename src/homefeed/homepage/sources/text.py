"""Sources from language-model understanding: items whose text is near the recent history,
items matching the stated interests, and items no model has interactions for yet, placed in a
behaviour model's space by their text and metadata."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from homefeed.homepage.page import Candidate, Explanation
from homefeed.homepage.request import PageRequest
from homefeed.homepage.sources.base import NEW_ITEMS, PERSONAL_MODELS, Services, VectorScorer


class SemanticHistorySource:
    """Items whose text is near the user's recent history (a ``semantic.history_share`` of the
    page). With a behaviour model, only items no model knows yet (the models rank the rest
    better); without one, any item."""

    name = "semantic-history"

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        semantic = self.services.semantic
        quota = min(quota, round(request.n * self.services.settings.semantic.history_share))
        if semantic is None or not request.has_history or quota <= 0:
            return []
        bundle = request.bundle
        item_ids = [event.item_id for event in request.events]
        accept = self._accept(request)
        if bundle is None or not any(bundle.get(name) for name in PERSONAL_MODELS):
            return semantic.from_history(item_ids, request.event_weights, quota, accept, request.blocked)
        if self.services.maps_new_items(bundle):
            return []  # the new-items source ranks them better (docs/benchmarks.md)
        new = self.services.new_items(bundle)
        if not new:
            return []
        return semantic.from_history(item_ids, request.event_weights, quota, accept, request.blocked, new)

    def _accept(self, request: PageRequest) -> Callable[[str], bool]:
        return partial(self.services.fits, request=request)


class InterestsSource(SemanticHistorySource):
    """Items nearest what the user said they like (their profile's free-text interests): a
    ``semantic.interests_share`` of the page, or all of it for a user without history."""

    name = "interests"

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        semantic = self.services.semantic
        if request.has_history:  # the whole page for a user without history, else a share
            quota = min(quota, round(request.n * self.services.settings.semantic.interests_share))
        if semantic is None or not request.interests or quota <= 0:
            return []
        return semantic.from_interests(request.interests, quota, self._accept(request), request.blocked)


class NewItemsSource:
    """Items no model has interactions for yet, scored like the others: their text and metadata
    are mapped into a behaviour model's item space (``models/new_items.py``) and ranked by the
    user's vector in it (a ``homepage.new_items_share`` of the page), each credited to the
    liked item whose vector points most towards it. Only items the user's vector scores above
    the learned items' average by ``homepage.new_items_floor`` standard deviations qualify,
    so a user is not shown the best of a few new items that are all far from their taste."""

    name = NEW_ITEMS

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        bundle, history, vectors = request.bundle, request.history, self.services.new_vectors
        quota = min(quota, round(request.n * self.services.settings.homepage.new_items_share))
        if bundle is None or history is None or vectors is None or quota <= 0 or not len(history.liked):
            return []
        model = bundle.get(vectors.model)
        item_ids, table = vectors.snapshot()
        if vectors.version != bundle.version or not isinstance(model, VectorScorer) or not item_ids:
            return []
        user = model.user_vector(history.items, history.weights)
        scores = table @ user
        floor = self.services.settings.homepage.new_items_floor
        standardized = vectors.standardized(scores, user)
        worthy = np.flatnonzero(standardized >= floor)  # not merely the best of a few
        rows = self._best_servable(worthy, scores, item_ids, request, quota)
        known = model.item_vectors()
        if not rows or known is None:
            return []
        liked = history.liked
        anchors = liked[np.argmax(table[rows] @ known[liked].T, axis=1)]
        found = []
        for rank, (row, anchor) in enumerate(zip(rows, anchors.tolist(), strict=True), start=1):
            anchor_id = model.item_ids[anchor]
            why = Explanation("history", f"New, for fans of {self.services.title(anchor_id)}", (anchor_id,))
            details = {
                "score": float(scores[row]),
                "rank": float(rank),
                "standardized": float(standardized[row]),
            }
            found.append(
                Candidate(
                    item_ids[row], float(scores[row]), self.name, why, details if request.explain else {}
                )
            )
        return found

    def _best_servable(
        self,
        rows: np.ndarray,
        scores: np.ndarray,
        item_ids: tuple[str, ...],
        request: PageRequest,
        quota: int,
    ) -> list[int]:
        """The ``quota`` best-scored of ``rows`` that may be shown, best first: from a shortlist
        of 8 x quota (a full sort of 100,000 new items took 8 ms, the shortlist 0.7), and from
        all of ``rows`` only when the shortlist holds too few servable ones."""
        shortlist = min(8 * quota, len(rows))
        for size in (shortlist, len(rows)):
            chosen = rows if size >= len(rows) else rows[np.argpartition(-scores[rows], size - 1)[:size]]
            ordered = chosen[np.argsort(-scores[chosen], kind="stable")].tolist()
            found = [row for row in ordered if self.services.servable(item_ids[row], request)][:quota]
            if len(found) >= quota or size >= len(rows):
                return found
        return []
