"""Sources from language-model understanding: items whose text is near the recent history,
items matching the stated interests, and items no model has interactions for yet, placed in a
behaviour model's space by their text and metadata."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from homefeed.homepage.candidates import Ask, Proposal, Ranked, proposing
from homefeed.homepage.page import Explanation
from homefeed.homepage.query import PageQuery, tuned
from homefeed.homepage.sections import Row
from homefeed.homepage.sources.base import NEW_ITEMS, PageServices, nothing


class SemanticHistorySource:
    """Items whose text is near the user's recent history (a ``semantic.history_share`` of the
    page). With a behaviour model, only items no model knows yet (the models rank the rest
    better); without one, any item."""

    name = "semantic-history"
    row = Row("titled", "More like what you liked")

    def __init__(self, services: PageServices) -> None:
        self.services = services

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        semantic = self.services.semantic
        ask = ask.within(
            round(query.n * tuned(query.version, self.services.settings.semantic, "history_share"))
        )
        if semantic is None or not query.has_history or nothing(ask):
            return Proposal()
        bundle = query.bundle
        item_ids = [event.item_id for event in query.events]
        accept, withheld = self._accept(query), query.withheld
        if bundle is None or query.version is None or not query.version.personal:
            return proposing(semantic.from_history(item_ids, query.weights, ask.size, accept, withheld), ask)
        if self.services.maps_new_items(query):
            return Proposal()  # the new-items source ranks them better (docs/benchmarks.md, cold items)
        unknown = self.services.unknown.of(bundle)
        if not unknown:
            return Proposal()
        return proposing(
            semantic.from_history(item_ids, query.weights, ask.size, accept, withheld, unknown), ask
        )

    def _accept(self, query: PageQuery) -> Callable[[str], bool]:
        return partial(self.services.fits, query=query)


class InterestsSource(SemanticHistorySource):
    """Items nearest what the user said they like (their profile's free-text interests): a
    ``semantic.interests_share`` of the page, or all of it for a user without history. Each
    liked phrase has its own list, and the lists take turns."""

    name = "interests"
    row = Row("titled", "From your interests")

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        semantic = self.services.semantic
        if query.has_history:  # the whole page for a user without history, else a share
            share = tuned(query.version, self.services.settings.semantic, "interests_share")
            ask = ask.within(round(query.n * share))
        if semantic is None or not query.interests or nothing(ask):
            return Proposal()
        lists = semantic.from_interests(query.interests, ask.size, self._accept(query), query.withheld)
        return Proposal(tuple(lists), ask.quota, turns=True) if lists else Proposal()


class NewItemsSource:
    """Items no model has interactions for yet, scored like the others: their text and metadata
    are mapped into a behaviour model's item space (``models/new_items.py``) and ranked by the
    user's vector in it (a ``homepage.new_items_share`` of the page), each credited to the
    liked item whose vector points most towards it. Only items the user's vector scores above
    the learned items' average by ``homepage.new_items_floor`` standard deviations qualify,
    so a user is not shown the best of a few new items that are all far from their taste."""

    name = NEW_ITEMS
    row = Row("titled", "New for you")

    def __init__(self, services: PageServices) -> None:
        self.services = services

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        version, history = query.version, query.history
        vectors = version.new_vectors if version is not None else None
        ask = ask.within(
            round(query.n * tuned(query.version, self.services.settings.homepage, "new_items_share"))
        )
        if version is None or history is None or vectors is None or nothing(ask) or not len(history.liked):
            return Proposal()
        model = version.bundle.get(vectors.model)
        item_ids, table = vectors.snapshot()
        if model is None or not item_ids:
            return Proposal()
        known = model.item_vectors()
        user = model.user_vector(history.items, history.weights)
        if user is None or known is None:
            return Proposal()
        scores = table @ user
        floor = self.services.settings.homepage.new_items_floor
        standardized = vectors.standardized(scores, user)
        worthy = np.flatnonzero(standardized >= floor)  # not merely the best of a few
        rows = np.array(self._best_servable(worthy, scores, item_ids, query, ask.size), dtype=np.int64)
        if not len(rows):
            return Proposal()
        liked = history.liked
        title = self.services.title

        def explain(_chosen: Sequence[str], keys: np.ndarray | None) -> list[Explanation]:
            assert keys is not None
            anchors = liked[np.argmax(table[keys] @ known[liked].T, axis=1)]
            return [
                Explanation("history", f"New, for fans of {title(model.item_ids[a])}", (model.item_ids[a],))
                for a in anchors.tolist()
            ]

        found = Ranked(
            self.name,
            [item_ids[row] for row in rows.tolist()],
            scores[rows].astype(np.float64),
            explain,
            rows,
            details={"standardized": standardized[rows]},
        )
        return proposing(found, ask)

    def _best_servable(
        self,
        rows: np.ndarray,
        scores: np.ndarray,
        item_ids: tuple[str, ...],
        query: PageQuery,
        size: int,
    ) -> list[int]:
        """The ``size`` best-scored of ``rows`` that may be shown, best first: from a shortlist
        of 8 x size (a full sort of a large set of new items costs ten times more), and from
        all of ``rows`` only when the shortlist holds too few servable ones."""
        shortlist = min(8 * size, len(rows))
        for length in (shortlist, len(rows)):
            chosen = (
                rows if length >= len(rows) else rows[np.argpartition(-scores[rows], length - 1)[:length]]
            )
            ordered = chosen[np.argsort(-scores[chosen], kind="stable")].tolist()
            found = [row for row in ordered if self.services.servable(item_ids[row], query)][:size]
            if len(found) >= size or length >= len(rows):
                return found
        return []
