"""Candidates from language-model understanding: text similarity to the user's recent
history, and to what the user said they like. Both reach items no model was trained on."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import numpy as np

from homefeed.homepage.candidates import Ranked
from homefeed.homepage.page import Explanation
from homefeed.live.catalog import Catalog
from homefeed.understanding.semantic import SemanticSpace
from homefeed.vectors import Hit

POOL = 10  # with `only`, its items are looked for among this many times k nearest items


class SemanticSources:
    """Finds text-based candidates and says why each was chosen."""

    def __init__(self, space: SemanticSpace, catalog: Catalog) -> None:
        self.space = space
        self.catalog = catalog

    def from_history(
        self,
        item_ids: Sequence[str],
        weights: Sequence[float],
        k: int,
        accept: Callable[[str], bool],
        exclude: Collection[str],
        only: Collection[str] | None = None,
    ) -> Ranked | None:
        """Items whose text is nearest the recency-weighted history, each credited to the
        liked item it is most similar to. With ``only``, the items of ``only`` among the
        ``POOL * k`` nearest: close enough to the user's taste, not merely the closest of them."""
        if k <= 0:
            return None
        if only is None:
            hits = self.space.by_history(item_ids, weights, k, accept, exclude)
        else:
            nearest = self.space.by_history(item_ids, weights, k * POOL, accept, exclude)
            hits = [hit for hit in nearest if hit.item_id in only][:k]
        liked = [item for item, weight in zip(item_ids[-50:], weights[-50:], strict=True) if weight > 0]
        if not hits or not liked:
            return None

        def explain(chosen: Sequence[str], _keys: np.ndarray | None) -> list[Explanation]:
            similarity = self.space.vectors(list(chosen)) @ self.space.vectors(liked).T
            anchors = [liked[int(column)] for column in np.argmax(similarity, axis=1)]
            return [
                Explanation("history", f"Because you liked {self._title(anchor)}", (anchor,))
                for anchor in anchors
            ]

        return _ranked("semantic-history", hits, explain)

    def from_interests(
        self, text: str, k: int, accept: Callable[[str], bool], exclude: Collection[str]
    ) -> list[Ranked]:
        """A list per liked phrase of the user's stated interests, items nearest it first
        (the phrases take turns on the page), each credited to the phrase it matches best."""
        if k <= 0:
            return []
        per_phrase = self.space.interest_lists(text, k, accept, exclude)
        if not any(per_phrase):
            return []
        query = self.space.interest_query(text)

        def explain(chosen: Sequence[str], _keys: np.ndarray | None) -> list[Explanation]:
            similarity = self.space.vectors(list(chosen)) @ query.liked.T
            phrases = [query.interests.liked[int(column)] for column in np.argmax(similarity, axis=1)]
            return [
                Explanation("interest", f"Matches your interest in “{phrase}”", (phrase,))
                for phrase in phrases
            ]

        return [_ranked("interests", hits, explain) for hits in per_phrase]

    def avoided(self, text: str | None) -> frozenset[str]:
        """Items about something the user said they do not want."""
        return self.space.avoided(text)

    def _title(self, item_id: str) -> str:
        entry = self.catalog.get(item_id)
        return entry.title if entry is not None else item_id


def _ranked(
    source: str, hits: Sequence[Hit], explain: Callable[[Sequence[str], np.ndarray | None], list[Explanation]]
) -> Ranked:
    scores = np.array([hit.score for hit in hits], dtype=np.float64)
    return Ranked(source, [hit.item_id for hit in hits], scores, explain)
