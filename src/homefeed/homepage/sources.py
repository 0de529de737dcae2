"""Candidate sources: each proposes up to ``quota`` items for one request and says why.

A source is one small object with a ``name`` and one method; the pipeline runs the sources
named in the settings, in order, and a source that raises degrades the page instead of
failing it. Sources skip items the request blocks (seen, excluded, disliked, already placed),
so filters after them rarely have work: they are the guarantee, not the mechanism.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol, runtime_checkable

import numpy as np

from homefeed.config import Settings
from homefeed.homepage.live import LiveStats
from homefeed.homepage.page import Candidate, Explanation
from homefeed.homepage.request import History, PageRequest
from homefeed.homepage.semantic import SemanticSources
from homefeed.models.base import Recommender, top_k
from homefeed.models.bundle import ModelBundle
from homefeed.models.profile import ProfileRecommender
from homefeed.ranking.ltr import RankerRecommender
from homefeed.serving.catalog import Catalog
from homefeed.serving.new_items import NewItemVectors
from homefeed.store import Store
from homefeed.vectors import VectorIndex

logger = logging.getLogger(__name__)
PERSONAL_MODELS = ("ranker", "sequential", "als")  # tried in this order


@runtime_checkable
class VectorScorer(Protocol):
    """A model whose scores are inner products of a user vector with its item vectors."""

    def user_vector(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray: ...

    def item_vectors(self) -> np.ndarray | None: ...


class CandidateSource(Protocol):
    """Proposes items for one request."""

    name: str

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]: ...


@dataclass
class Services:
    """What sources share across requests; the model-dependent parts change on reload."""

    store: Store
    settings: Settings
    catalog: Catalog
    live: LiveStats
    semantic: SemanticSources | None = None
    indexes: dict[str, VectorIndex] = field(default_factory=dict)  # per personal model
    new_items: Callable[[ModelBundle | None], set[str]] = lambda _bundle: set()
    new_vectors: NewItemVectors | None = None  # new items placed in the version's behaviour space

    def title(self, item_id: str) -> str:
        entry = self.catalog.get(item_id)
        return entry.title if entry is not None else item_id

    def fits(self, item_id: str, request: PageRequest) -> bool:
        """Active, and in the requested category if there is one."""
        entry = self.catalog.get(item_id)
        return (
            entry is not None
            and entry.active
            and (request.category is None or entry.category == request.category)
        )

    def maps_new_items(self, bundle: ModelBundle) -> bool:
        """Whether the new-items source is declared and ranks ``bundle``'s new items."""
        vectors = self.new_vectors
        declared = NewItemsSource.name in self.settings.homepage.sources
        return declared and vectors is not None and vectors.version == bundle.version

    def servable(self, item_id: str, request: PageRequest) -> bool:
        """May be proposed now: fits the request and is not blocked for it."""
        return not request.is_blocked(item_id) and self.fits(item_id, request)


class PersonalSource:
    """The user's own taste: the learning-to-rank model over every source when trained, else
    the Transformer reading the fresh sequence, else ALS folded in from the fresh history
    (the first personal model that works). A user with fewer than ``homepage.short_history``
    liked items gets the profile model's picks instead, when it has any."""

    name = "personal"

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        bundle, history, allowed = request.bundle, request.history, request.allowed
        if bundle is None or history is None or allowed is None or quota <= 0:
            return []
        models = [(name, bundle.get(name)) for name in PERSONAL_MODELS if bundle.get(name) is not None]
        if not models:
            return []
        if not len(history.liked):
            request.notes.add("no-history")
            return []
        if len(history.liked) < self.services.settings.homepage.short_history:
            picks = ProfileSource(self.services).fetch(request, quota)
            if picks:  # a few likes: what people like them pick ranks better (docs/benchmarks.md)
                return picks
        for name, model in models:
            assert model is not None
            try:
                chosen, values = self._retrieve(name, model, request, allowed, quota)
                anchors = self._anchors(model, history.liked, chosen)
            except Exception as error:  # the next personal model takes over
                logger.exception("personal source %s failed for user %s", name, request.user_id)
                request.page.degrade(f"{name} recommendations failed ({type(error).__name__})")
                continue
            explanations = {anchor: self._because(anchor) for anchor in set(anchors)}
            item_ids = model.item_ids
            details = self._details(request, model, history, chosen, values)
            return [
                Candidate(item_ids[index], float(score), name, explanations[anchor], detail)
                for index, score, anchor, detail in zip(
                    chosen.tolist(), values.tolist(), anchors, details, strict=True
                )
            ]
        return []

    @staticmethod
    def _details(
        request: PageRequest, model: Recommender, history: History, chosen: np.ndarray, values: np.ndarray
    ) -> list[dict[str, float]]:
        """With explain=true: each pick's score and rank, and the ranker's feature values."""
        if not request.explain:
            return [{} for _ in chosen]
        details = [{"score": float(v), "rank": float(r)} for r, v in enumerate(values.tolist(), start=1)]
        if isinstance(model, RankerRecommender):
            features_of = model.features_of(history.liked, chosen, request.profile, request.context)
            for detail, features in zip(details, features_of, strict=True):
                detail.update(features)
        return details

    def _retrieve(
        self, name: str, model: Recommender, request: PageRequest, allowed: np.ndarray, n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` allowed item indices and scores: the user's vector against the model's vector
        index (exact or HNSW by catalog size), else every item scored (models such as the ranker
        also read the user's profile and the request's context)."""
        history = request.history
        assert history is not None
        index = self.services.indexes.get(name)
        if index is not None and isinstance(model, VectorScorer):
            return index.search_slots(model.user_vector(history.items, history.weights), n, allowed)
        if model.reads_request:
            scores = model.score_new_users([history.liked], [request.profile], [request.context])
            return _best(scores[0], allowed, n)
        return _best(model.score_history(history.items, history.weights), allowed, n)

    def _anchors(self, model: Recommender, liked: np.ndarray, chosen: np.ndarray) -> list[str | None]:
        """For each recommended item, the liked item whose vector points most towards it."""
        vectors = model.item_vectors()
        if len(chosen) == 0 or vectors is None:
            return [None] * len(chosen)
        contributions = vectors[chosen] @ vectors[liked].T
        item_ids = model.item_ids
        return [item_ids[index] for index in liked[np.argmax(contributions, axis=1)].tolist()]

    def _because(self, anchor: str | None) -> Explanation:
        if anchor is None or self.services.catalog.get(anchor) is None:
            return Explanation("history", "Picked for your tastes")
        return Explanation("history", f"Because you liked {self.services.title(anchor)}", (anchor,))


class ItemToItemSource:
    """ "Because you liked X" for the latest liked item X: the items whose behaviour vectors
    are nearest X's (a ``semantic.history_share`` of the page), so the row follows the last
    event at once."""

    name = "item-to-item"

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        bundle, history, allowed = request.bundle, request.history, request.allowed
        quota = min(quota, round(request.n * self.services.settings.semantic.history_share))
        if bundle is None or history is None or allowed is None or not len(history.liked) or quota <= 0:
            return []
        for name in PERSONAL_MODELS:
            model, index = bundle.get(name), self.services.indexes.get(name)
            vectors = model.item_vectors() if model is not None else None
            if model is None or index is None or vectors is None:
                continue
            anchor = int(history.liked[-1])
            chosen, values = index.search_slots(vectors[anchor], quota, allowed)
            item_id = model.item_ids[anchor]
            why = Explanation("history", f"Because you liked {self.services.title(item_id)}", (item_id,))
            return [
                Candidate(model.item_ids[i], float(v), self.name, why)
                for i, v in zip(chosen.tolist(), values.tolist(), strict=True)
            ]
        return []


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

    name = "new-items"

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
        worthy = standardized >= floor  # not merely the best of a few
        rows: list[int] = []
        for row in np.argsort(-scores, kind="stable").tolist():
            if not worthy[row]:
                break
            if self.services.servable(item_ids[row], request):
                rows.append(row)
                if len(rows) >= quota:
                    break
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


class ProfileSource:
    """What people like this user pick: popularity tilted by the user's profile groups and
    first events (the profile model). Proposes nothing when it knows neither."""

    name = "profile"

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        bundle, history, allowed = request.bundle, request.history, request.allowed
        model = bundle.get("profile") if bundle is not None else None
        if not isinstance(model, ProfileRecommender) or history is None or allowed is None:
            return []
        groups = model.known_groups(request.profile)
        liked = history.liked
        if not len(liked) and not groups:
            return []  # it would be plain popularity: the popular source says so better
        request.notes.add("profile")
        scores = model.score_profile(history.items, history.weights, request.profile)
        if len(liked):
            evidence = tuple(model.item_ids[int(index)] for index in liked[::-1][:3])  # latest first
            titles = [self.services.title(item_id) for item_id in evidence]
            listed = titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} and {titles[-1]}"
            explanation = Explanation("history", f"Often chosen with {listed}", evidence)
        else:
            names = tuple(model.groups[row] for row in groups)
            explanation = Explanation("profile", "Popular with people like you", names)
        return _top(model, scores, allowed, quota, self.name, explanation)


class PopularSource:
    """The most popular items: the trained (time-decayed) popularity model, or live counts
    from the database before any model is trained."""

    name = "popular"
    explanation = Explanation("popularity", "Popular right now")

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        if quota <= 0:
            return []
        model = request.bundle.get("popularity") if request.bundle is not None else None
        if model is None or request.allowed is None:
            return self._live(request, quota)
        scores = model.score_history(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        return _top(model, scores, request.allowed, quota, self.name, self.explanation)

    def _live(self, request: PageRequest, quota: int) -> list[Candidate]:
        ranked = self.services.live.popular()
        return _first_servable(self.services, request, ranked, quota, self.name, self.explanation)


class TrendingSource:
    """What many people acted on in the last days, newest activity counting most (the live
    log, time-decayed): ``homepage.trending_share`` of the page."""

    name = "trending"
    explanation = Explanation("trending", "Trending now")

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        quota = min(quota, round(request.n * self.services.settings.homepage.trending_share))
        if quota <= 0:
            return []
        ranked = self.services.live.trending()
        return _first_servable(self.services, request, ranked, quota, self.name, self.explanation)


class FreshSource:
    """Newest items first: the last resort, and the way in for items newer than the model."""

    name = "fresh"
    explanation = Explanation("fresh", "New in the catalog")

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        newest = ((item_id, 0.0) for item_id in self.services.catalog.newest())
        return _first_servable(self.services, request, newest, quota, self.name, self.explanation)


def _first_servable(
    services: Services,
    request: PageRequest,
    ranked: Iterable[tuple[str, float]],
    quota: int,
    source: str,
    why: Explanation,
) -> list[Candidate]:
    """The first ``quota`` servable items of an (item, score) ranking, read lazily."""
    found: list[Candidate] = []
    if quota <= 0:
        return found
    for item_id, score in ranked:
        if services.servable(item_id, request):
            found.append(Candidate(item_id, float(score), source, why))
            if len(found) >= quota:
                break
    return found


def _best(scores: np.ndarray, allowed: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``n`` best allowed items (ties by index)."""
    masked = np.array(scores, dtype=np.float64)
    masked[~allowed] = -np.inf
    indices, values = top_k(masked[None, :], n)
    keep = indices[0] >= 0
    return indices[0][keep], values[0][keep]


def _top(
    model: Recommender, scores: np.ndarray, allowed: np.ndarray, n: int, source: str, why: Explanation
) -> list[Candidate]:
    indices, values = _best(scores, allowed, n)
    return [
        Candidate(model.item_ids[index], float(value), source, why)
        for index, value in zip(indices.tolist(), values.tolist(), strict=True)
    ]


SOURCES: dict[str, Callable[[Services], CandidateSource]] = {
    source.name: source
    for source in (
        PersonalSource,
        ItemToItemSource,
        NewItemsSource,
        SemanticHistorySource,
        InterestsSource,
        ProfileSource,
        PopularSource,
        TrendingSource,
        FreshSource,
    )
}
