"""Sources from behaviour models: the user's own taste (the personal row), items like the
latest liked one, and what people like the user pick (the profile model)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from homefeed.homepage.candidates import (
    Ask,
    Explainer,
    Features,
    ItemIds,
    Proposal,
    Ranked,
    because,
    proposing,
)
from homefeed.homepage.page import Explanation
from homefeed.homepage.query import PageQuery, tuned
from homefeed.homepage.sections import PERSONAL, Row
from homefeed.homepage.sources.base import PageServices, nothing, top
from homefeed.models.base import Recommender
from homefeed.models.fusion import fuse

logger = logging.getLogger(__name__)
FUSED_DEPTH = 100  # each fused model's list (as tuning fused them)


class PersonalSource:
    """The user's own taste: the version's personal models in order (chosen on validation by
    ``homefeed train --tune``, else ``homepage.personal_models``: the learning-to-rank model,
    the Transformer reading the fresh sequence, co-visitation from the latest likes, ALS folded
    in from the fresh history), each next one filling what the ones before left open. A user
    with fewer than ``homepage.short_history`` liked items gets the profile model's picks
    instead, when it has any. A failing model is skipped and named."""

    name = "personal"
    row = PERSONAL

    def __init__(self, services: PageServices) -> None:
        self.services = services
        self.profile = ProfileSource(services)

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        version, history, allowed = query.version, query.history, query.allowed
        if version is None or history is None or allowed is None or nothing(ask):
            return Proposal()
        models = [
            (name, model) for name in version.personal if (model := version.bundle.get(name)) is not None
        ]
        if not models:
            return Proposal()
        if not len(history.liked):
            return Proposal(cold=True)
        if len(history.liked) < tuned(query.version, self.services.settings.homepage, "short_history"):
            picks = self.profile.fetch(query, ask)
            if len(picks):  # a few likes: what people like them pick ranks better
                return picks
        lists: list[Ranked] = []
        failures: list[str] = []
        wanted, found, left = ask.size, 0, allowed
        fused = (
            models[: version.blend]
            if all(not model.feature_names for _, model in models[: version.blend])
            else []
        )
        blended = self._fused(fused, query, allowed, wanted, failures) if len(fused) > 1 else None
        if blended is not None:  # near-tied models on validation: their fused list leads
            assert blended.keys is not None
            lists.append(blended)
            found, models = len(blended), models[len(fused) :]
            left = left.copy()
            left[blended.keys] = False
        for name, model in models:  # each model in turn fills what the ones before left open
            if found >= wanted:
                break
            try:
                ranked = self._retrieve(name, model, query, left, wanted - found)
            except Exception as error:  # the next personal model takes over
                logger.exception("personal source %s failed for user %s", name, query.user_id)
                failures.append(f"{name} recommendations failed ({type(error).__name__})")
                continue
            lists.append(ranked)
            found += len(ranked)
            if found < wanted:  # the next model fills the rest, without these
                assert ranked.keys is not None
                left = left.copy()
                left[ranked.keys] = False
        return Proposal(tuple(lists), ask.quota, degradations=tuple(failures))

    def _fused(
        self,
        models: Sequence[tuple[str, Recommender]],
        query: PageQuery,
        allowed: np.ndarray,
        size: int,
        failures: list[str],
    ) -> Ranked | None:
        """The models' lists fused by reciprocal rank (each ``FUSED_DEPTH`` long, or longer for
        a long page), each item explained by the model that ranked it highest; a failing model
        is left out and named."""
        found: list[Ranked] = []
        for name, model in models:
            try:
                found.append(self._retrieve(name, model, query, allowed, max(size, FUSED_DEPTH)))
            except Exception as error:
                logger.exception("personal source %s failed for user %s", name, query.user_id)
                failures.append(f"{name} recommendations failed ({type(error).__name__})")
        if not found:
            return None
        keys, scores = fuse([ranked.keys for ranked in found if ranked.keys is not None], size)
        positions = [
            {key: position for position, key in enumerate(ranked.keys.tolist())}
            for ranked in found
            if ranked.keys is not None
        ]
        item_ids = models[0][1].item_ids  # a version's models share one item vocabulary

        def explain(chosen: Sequence[str], chosen_keys: np.ndarray | None) -> list[Explanation]:
            assert chosen_keys is not None
            owners = [
                int(np.argmin([place.get(key, len(place)) for place in positions]))
                for key in chosen_keys.tolist()
            ]
            reasons: list[Explanation | None] = [None] * len(owners)
            for owner in set(owners):
                rows = [row for row, found_by in enumerate(owners) if found_by == owner]
                given = found[owner].explain([chosen[row] for row in rows], chosen_keys[rows])
                for row, reason in zip(rows, given, strict=True):
                    reasons[row] = reason
            return [reason for reason in reasons if reason is not None]

        name = "+".join(ranked.source for ranked in found)
        return Ranked(name, [item_ids[key] for key in keys.tolist()], scores, explain, keys)

    def _retrieve(
        self, name: str, model: Recommender, query: PageQuery, allowed: np.ndarray, size: int
    ) -> Ranked:
        """The model's best ``size`` allowed items: the user's vector searched in the model's
        vector index (exact or HNSW by catalog size) when it scores by vectors, else the
        model's own retrieval (a ranker proposes its candidates unscored, with features)."""
        version, history = query.version, query.history
        assert version is not None and history is not None
        index = version.indexes.get(name)
        vector = model.user_vector(history.items, history.weights) if index is not None else None
        if index is not None and vector is not None:
            chosen, values = index.search_slots(vector, size, allowed)
            explain = self._explainer(model, history.items, history.weights)
            return Ranked(name, [model.item_ids[i] for i in chosen.tolist()], values, explain, chosen)
        found = model.retrieve(query.user, allowed, size)
        features = None if found.features is None else Features(name, model.feature_names, found.features)
        explain = self._explainer(model, history.items, history.weights, found.anchors)
        return Ranked(
            name, ItemIds(model.item_ids, found.indices), found.scores, explain, found.indices, features
        )

    def _explainer(
        self,
        model: Recommender,
        items: np.ndarray,
        weights: np.ndarray,
        own_anchors: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> Explainer:
        """Each pick credited to the liked item that drove its score most: the retrieval's own
        anchors when it has them (``own_anchors``), else the model's."""
        item_ids = model.item_ids
        positive = weights > 0
        liked, liked_weights = items[positive], weights[positive]

        def explain(_chosen: Sequence[str], keys: np.ndarray | None) -> list[Explanation]:
            assert keys is not None
            found = (
                own_anchors(keys) if own_anchors is not None else model.anchors(liked, keys, liked_weights)
            ).tolist()
            anchors = [item_ids[a] if a >= 0 else None for a in found]
            reasons = {anchor: self.services.because_you_liked(anchor) for anchor in set(anchors)}
            return [reasons[anchor] for anchor in anchors]

        return explain


class ItemToItemSource:
    """ "Because you liked X" for the latest liked item X (a ``semantic.history_share`` of the
    page), so the row follows the last event at once: the items the version's item-to-item
    evidence puts next to X (co-visitation, on its own or inside the ranker), else the items
    whose vectors in a personal model are nearest X's."""

    name = "item-to-item"
    row = Row("because", "More like what you liked")

    def __init__(self, services: PageServices) -> None:
        self.services = services

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        version, history, allowed = query.version, query.history, query.allowed
        ask = ask.within(
            round(query.n * tuned(query.version, self.services.settings.semantic, "history_share"))
        )
        if version is None or history is None or allowed is None or not len(history.liked) or nothing(ask):
            return Proposal()
        anchor = int(history.liked[-1])
        for _name, model in version.bundle.every_model():
            neighbours = model.item_neighbours(anchor)
            if neighbours is not None:
                why = self.services.because_you_liked(model.item_ids[anchor])
                picks = top(model, neighbours, allowed, ask.size, self.name, why)
                if len(picks):
                    return proposing(picks, ask)
                break
        for name in version.personal:
            personal, index = version.bundle.get(name), version.indexes.get(name)
            vectors = personal.item_vectors() if personal is not None else None
            if personal is None or index is None or vectors is None:
                continue
            chosen, values = index.search_slots(vectors[anchor], ask.size, allowed)
            why = self.services.because_you_liked(personal.item_ids[anchor])
            item_ids = [personal.item_ids[i] for i in chosen.tolist()]
            return proposing(Ranked(self.name, item_ids, values, because(why), chosen), ask)
        return Proposal()


class ProfileSource:
    """What people like this user pick: popularity tilted by the user's profile groups and
    first events (the profile model). Proposes nothing when it knows neither."""

    name = "profile"
    row = Row("explained")

    def __init__(self, services: PageServices) -> None:
        self.services = services

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        version, history, allowed = query.version, query.history, query.allowed
        model = version.bundle.get("profile") if version is not None else None
        if model is None or history is None or allowed is None:
            return Proposal()
        groups = model.profile_groups(query.profile)
        liked = history.liked
        if not len(liked) and not groups:
            return Proposal()  # it would be plain popularity: the popular source says so better
        scores = model.score_user(query.user)
        if len(liked):
            evidence = tuple(model.item_ids[int(index)] for index in liked[::-1][:3])  # latest first
            titles = [self.services.title(item_id) for item_id in evidence]
            listed = titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} and {titles[-1]}"
            explanation = Explanation("history", f"Often chosen with {listed}", evidence)
        else:
            explanation = Explanation("profile", "Popular with people like you", groups)
        return proposing(top(model, scores, allowed, ask.size, self.name, explanation), ask)
