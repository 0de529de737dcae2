"""Sources from behaviour models: the user's own taste (the personal row), items like the
latest liked one, and what people like the user pick (the profile model)."""

from __future__ import annotations

import logging

import numpy as np

from homefeed.homepage.page import Candidate, Explanation
from homefeed.homepage.request import History, PageRequest
from homefeed.homepage.sources.base import PERSONAL_MODELS, Services, VectorScorer, best, top
from homefeed.models.base import Recommender
from homefeed.models.bundle import ModelBundle
from homefeed.models.covisitation import CovisitationRecommender
from homefeed.models.profile import ProfileRecommender
from homefeed.ranking.ltr import RankerRecommender

logger = logging.getLogger(__name__)


class PersonalSource:
    """The user's own taste: the learning-to-rank model over every source when trained, else
    the Transformer reading the fresh sequence, else co-visitation from the latest likes, else
    ALS folded in from the fresh history (the first personal model that works; the next ones
    fill what it leaves open). A user with fewer than ``homepage.short_history``
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
        found: list[Candidate] = []
        for name, model in models:  # each model in turn fills what the ones before left open
            assert model is not None
            try:
                chosen, values = self._retrieve(name, model, request, allowed, quota - len(found))
                anchors = self._anchors(model, history.liked, chosen)
            except Exception as error:  # the next personal model takes over
                logger.exception("personal source %s failed for user %s", name, request.user_id)
                request.page.degrade(f"{name} recommendations failed ({type(error).__name__})")
                continue
            explanations = {anchor: self._because(anchor) for anchor in set(anchors)}
            item_ids = model.item_ids
            details = self._details(request, model, history, chosen, values)
            found += [
                Candidate(item_ids[index], float(score), name, explanations[anchor], detail)
                for index, score, anchor, detail in zip(
                    chosen.tolist(), values.tolist(), anchors, details, strict=True
                )
            ]
            if len(found) >= quota:
                break
            allowed = allowed.copy()
            allowed[chosen] = False
        return found

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
            return best(scores[0], allowed, n)
        chosen, values = best(model.score_history(history.items, history.weights), allowed, n)
        if isinstance(model, CovisitationRecommender):  # no co-visit, no evidence: leave it to the next
            chosen, values = chosen[values > 0], values[values > 0]
        return chosen, values

    def _anchors(self, model: Recommender, liked: np.ndarray, chosen: np.ndarray) -> list[str | None]:
        """For each recommended item, the liked item that gave it the most co-visits, or whose
        vector points most towards it."""
        item_ids = model.item_ids
        if isinstance(model, CovisitationRecommender):
            return [
                item_ids[index] if index >= 0 else None for index in model.anchors(liked, chosen).tolist()
            ]
        vectors = model.item_vectors()
        if len(chosen) == 0 or vectors is None:
            return [None] * len(chosen)
        contributions = vectors[chosen] @ vectors[liked].T
        return [item_ids[index] for index in liked[np.argmax(contributions, axis=1)].tolist()]

    def _because(self, anchor: str | None) -> Explanation:
        if anchor is None or self.services.catalog.get(anchor) is None:
            return Explanation("history", "Picked for your tastes")
        return Explanation("history", f"Because you liked {self.services.title(anchor)}", (anchor,))


class ItemToItemSource:
    """ "Because you liked X" for the latest liked item X (a ``semantic.history_share`` of the
    page), so the row follows the last event at once: the items most often picked near X when
    a co-visitation model is trained (on its own or as a ranker source), else the items whose
    behaviour vectors are nearest X's."""

    name = "item-to-item"

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        bundle, history, allowed = request.bundle, request.history, request.allowed
        quota = min(quota, round(request.n * self.services.settings.semantic.history_share))
        if bundle is None or history is None or allowed is None or not len(history.liked) or quota <= 0:
            return []
        anchor = int(history.liked[-1])
        covisits = covisitation_of(bundle)
        if covisits is not None:
            item_id = covisits.item_ids[anchor]
            why = Explanation("history", f"Because you liked {self.services.title(item_id)}", (item_id,))
            picks = top(covisits, covisits.neighbours_of(anchor), allowed, quota, self.name, why)
            if picks:
                return picks
        for name in PERSONAL_MODELS:
            model, index = bundle.get(name), self.services.indexes.get(name)
            vectors = model.item_vectors() if model is not None else None
            if model is None or index is None or vectors is None:
                continue
            chosen, values = index.search_slots(vectors[anchor], quota, allowed)
            item_id = model.item_ids[anchor]
            why = Explanation("history", f"Because you liked {self.services.title(item_id)}", (item_id,))
            return [
                Candidate(model.item_ids[i], float(v), self.name, why)
                for i, v in zip(chosen.tolist(), values.tolist(), strict=True)
            ]
        return []


def covisitation_of(bundle: ModelBundle) -> CovisitationRecommender | None:
    """The version's co-visitation model: trained on its own, or as one of the ranker's sources."""
    model = bundle.get("covisitation")
    if isinstance(model, CovisitationRecommender):
        return model
    ranker = bundle.get("ranker")
    source = ranker.models.get("covisitation") if isinstance(ranker, RankerRecommender) else None
    return source if isinstance(source, CovisitationRecommender) else None


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
        scores = model.score_profile(history.items, history.weights, request.profile, request.context)
        if len(liked):
            evidence = tuple(model.item_ids[int(index)] for index in liked[::-1][:3])  # latest first
            titles = [self.services.title(item_id) for item_id in evidence]
            listed = titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} and {titles[-1]}"
            explanation = Explanation("history", f"Often chosen with {listed}", evidence)
        else:
            names = tuple(model.groups[row] for row in groups)
            explanation = Explanation("profile", "Popular with people like you", names)
        return top(model, scores, allowed, quota, self.name, explanation)
