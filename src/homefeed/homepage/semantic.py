"""Candidates from language-model understanding: text similarity to the user's recent
history, and to what the user said they like. Both reach items no model was trained on."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import numpy as np

from homefeed.homepage.page import Candidate, Explanation
from homefeed.serving.catalog import Catalog
from homefeed.understanding.semantic import SemanticSpace

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
    ) -> list[Candidate]:
        """Items whose text is nearest the recency-weighted history, each credited to the
        liked item it is most similar to. With ``only``, the items of ``only`` among the
        ``POOL * k`` nearest: close enough to the user's taste, not merely the closest of them."""
        if k <= 0:
            return []
        if only is None:
            hits = self.space.by_history(item_ids, weights, k, accept, exclude)
        else:
            nearest = self.space.by_history(item_ids, weights, k * POOL, accept, exclude)
            hits = [hit for hit in nearest if hit.item_id in only][:k]
        liked = [item for item, weight in zip(item_ids[-50:], weights[-50:], strict=True) if weight > 0]
        if not hits or not liked:
            return []
        similarity = self.space.vectors([hit.item_id for hit in hits]) @ self.space.vectors(liked).T
        anchors = [liked[int(column)] for column in np.argmax(similarity, axis=1)]
        return [
            Candidate(
                hit.item_id,
                hit.score,
                "semantic-history",
                Explanation("history", f"Because you liked {self._title(anchor)}", (anchor,)),
            )
            for hit, anchor in zip(hits, anchors, strict=True)
        ]

    def from_interests(
        self, text: str, k: int, accept: Callable[[str], bool], exclude: Collection[str]
    ) -> list[Candidate]:
        """Items nearest the liked phrases of the user's stated interests, each credited to
        the phrase it matches best."""
        if k <= 0:
            return []
        hits = self.space.by_interests(text, k, accept, exclude)
        query = self.space.interest_query(text)
        if not hits:
            return []
        similarity = self.space.vectors([hit.item_id for hit in hits]) @ query.liked.T
        phrases = [query.interests.liked[int(column)] for column in np.argmax(similarity, axis=1)]
        return [
            Candidate(
                hit.item_id,
                hit.score,
                "interests",
                Explanation("interest", f"Matches your interest in “{phrase}”", (phrase,)),
            )
            for hit, phrase in zip(hits, phrases, strict=True)
        ]

    def avoided(self, text: str | None) -> set[str]:
        """Items about something the user said they do not want."""
        return self.space.avoided(text)

    def _title(self, item_id: str) -> str:
        entry = self.catalog.get(item_id)
        return entry.title if entry is not None else item_id
