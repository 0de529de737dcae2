"""Build one user's homepage: personal candidates first, popular items to fill, all filtered.

The sources run in order; each may fail, in which case the page is still served from
the remaining ones and the response says ``degraded`` with the reason. Items the user
already interacted with, excluded ids, inactive items and other categories are removed
before ranking, never after, so the page always has ``n`` items when the catalog allows.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from homefeed.config import Settings
from homefeed.domain import Impression, UserProfile
from homefeed.models.als import AlsRecommender
from homefeed.models.base import Recommender, top_k
from homefeed.models.bundle import ModelBundle
from homefeed.models.profile import ProfileRecommender
from homefeed.serving.catalog import Catalog, VocabularyMasks
from homefeed.serving.impressions import ImpressionLogger
from homefeed.serving.semantic_sources import SemanticCandidate, SemanticSources
from homefeed.store import Store
from homefeed.store.store import StoredEvent
from homefeed.vectors import IndexConfig, VectorIndex

logger = logging.getLogger(__name__)
LIVE_POPULARITY_TTL = 30.0
PERSONAL_MODELS = ("sequential", "als")  # tried in this order
PROFILE_TTL = 30.0  # seconds a user's stated interests are served from memory
PROFILE_CACHE_SIZE = 100_000


@runtime_checkable
class VectorScorer(Protocol):
    """A model whose scores are inner products of a user vector with its item vectors."""

    def user_vector(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray: ...

    def item_vectors(self) -> np.ndarray | None: ...


@dataclass(frozen=True)
class HomepageItem:
    item_id: str
    title: str
    category: str | None
    score: float
    source: str
    reason: str


@dataclass
class Homepage:
    request_id: str
    user_id: str
    model_version: str | None
    items: list[HomepageItem] = field(default_factory=list)
    degraded: bool = False
    reasons: list[str] = field(default_factory=list)


@dataclass
class _History:
    items: np.ndarray  # model indices of positively weighted items, oldest first
    weights: np.ndarray


class HomepageBuilder:
    """Holds the loaded model version and builds pages from it and the live event log."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        catalog: Catalog,
        bundle: ModelBundle | None = None,
        impressions: ImpressionLogger | None = None,
        semantic: SemanticSources | None = None,
    ) -> None:
        self.store = store
        self.semantic = semantic
        self.settings = settings
        self.catalog = catalog
        self.impressions = impressions
        self._live_popularity: tuple[float, list[tuple[str, int]]] = (0.0, [])
        self.bundle: ModelBundle | None = None
        self.masks: VocabularyMasks | None = None
        self.indexes: dict[str, VectorIndex] = {}  # per personal model: its item vectors
        self._profiles: dict[str, tuple[float, UserProfile | None]] = {}  # user -> (read at, profile)
        self._new: tuple[tuple[int, str | None], set[str]] | None = None
        self.set_bundle(bundle)

    def set_bundle(self, bundle: ModelBundle | None) -> None:
        """Swap in a newly trained version (atomic for readers: one attribute assignment)."""
        masks = None
        indexes: dict[str, VectorIndex] = {}
        if bundle is not None and bundle.models:
            any_model = next(iter(bundle.models.values()))
            masks = VocabularyMasks(self.catalog, any_model.item_ids)
            config = IndexConfig(hnsw_above=self.settings.semantic.exact_below)
            for name in PERSONAL_MODELS:
                index = (
                    bundle.vector_index(name, config) if isinstance(bundle.get(name), VectorScorer) else None
                )
                if index is not None:  # slots are the model's item indices: request masks apply as is
                    indexes[name] = index
        self.bundle, self.masks, self.indexes = bundle, masks, indexes

    @property
    def model_version(self) -> str | None:
        return self.bundle.version if self.bundle is not None else None

    # -- the page ---------------------------------------------------------
    def build(
        self,
        user_id: str,
        n: int,
        exclude: Collection[str] = (),
        category: str | None = None,
    ) -> Homepage:
        bundle, masks = self.bundle, self.masks
        page = Homepage(
            request_id=uuid.uuid4().hex,
            user_id=user_id,
            model_version=bundle.version if bundle else None,
        )
        events = self.store.user_events(user_id, self.settings.history_length)
        weights = self.settings.event_weights
        seen = {event.item_id for event in events if weights.get(event.type, 0.0) != 0.0}
        profile = self._profile(user_id)
        interests = profile.interests if profile is not None and self.semantic is not None else None
        blocked = seen | set(exclude) | self._avoided(page, interests)
        event_weights = [weights.get(event.type, 0.0) for event in events]
        extras = self._semantic_candidates(
            page, bundle, [e.item_id for e in events], event_weights, interests, n, blocked, category
        )
        blocked |= {extra.item_id for extra in extras}
        if bundle is None or masks is None:
            page.degraded = True
            page.reasons.append("no trained model yet: serving live popularity and text similarity")
            self._add_extras(page, extras, n)
            self._fill_live_popular(page, n, blocked, category)
            self._fill_fresh(page, n, blocked, category)
        else:
            allowed = masks.servable().copy()
            if category is not None:
                allowed &= masks.category(category)
            model = next(iter(bundle.models.values()))
            for item_id in blocked:
                index = model.item_index(item_id)
                if index is not None:
                    allowed[index] = False
            history = self._history(events, model.item_index)
            by_profile = bundle.get("profile") is not None and self._groups(bundle, profile)
            quiet = bool(extras) or by_profile  # a stated profile is served from, not degraded
            self._fill_personal(page, bundle, history, allowed, n - len(extras), quiet=quiet)
            self._add_extras(page, extras, n)
            self._fill_popular(page, bundle, allowed, n, history, profile)
            self._fill_fresh(page, n, blocked | {item.item_id for item in page.items}, category)
        self._log(page)
        return page

    # -- language-model sources -------------------------------------------
    def _profile(self, user_id: str) -> UserProfile | None:
        """The user's profile, cached for PROFILE_TTL seconds (the users route forgets a user it
        writes, so an API change shows at once; other writers within the TTL). Read only when
        a source uses it: stated interests (text) or profile groups (the profile model)."""
        if self.semantic is None and (self.bundle is None or self.bundle.get("profile") is None):
            return None
        cached = self._profiles.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < PROFILE_TTL:
            return cached[1]
        try:
            profile: UserProfile | None = self.store.get_user(user_id)
        except Exception:  # the page does without the profile rather than failing
            logger.exception("reading the profile of %s failed", user_id)
            return None
        if len(self._profiles) >= PROFILE_CACHE_SIZE:
            self._profiles.clear()
        self._profiles[user_id] = (time.monotonic(), profile)
        return profile

    def forget_user(self, user_id: str) -> None:
        """Drop what is cached about a user whose profile was just written or deleted."""
        self._profiles.pop(user_id, None)

    def _avoided(self, page: Homepage, interests: str | None) -> set[str]:
        if self.semantic is None or not interests:
            return set()
        try:
            return self.semantic.avoided(interests)
        except Exception as error:
            logger.exception("reading disliked interests failed for %s", page.user_id)
            page.degraded = True
            page.reasons.append(f"stated dislikes could not be applied ({type(error).__name__})")
            return set()

    def _semantic_candidates(
        self,
        page: Homepage,
        bundle: ModelBundle | None,
        item_ids: list[str],
        weights: list[float],
        interests: str | None,
        n: int,
        blocked: set[str],
        category: str | None,
    ) -> list[SemanticCandidate]:
        """Text-similar items: a share of the page from the recent history, a share (the whole
        page for a user without history) from stated interests."""
        if self.semantic is None:
            return []
        config = self.settings.semantic
        has_history = any(weight > 0 for weight in weights)

        def accept(item_id: str) -> bool:
            entry = self.catalog.get(item_id)
            return entry is not None and entry.active and (category is None or entry.category == category)

        found: list[SemanticCandidate] = []
        try:
            if has_history:
                quota = round(n * config.history_share)
                personal = bundle is not None and any(bundle.get(name) for name in PERSONAL_MODELS)
                if not personal:  # no behaviour model: text similarity is the personal source
                    found += self.semantic.from_history(item_ids, weights, quota, accept, blocked)
                elif new := self._new_items(bundle):
                    # the models rank the items they know better than text does; text brings in
                    # the items they cannot score yet, when they are near the user's history
                    found += self.semantic.from_history(item_ids, weights, quota, accept, blocked, new)
            if interests:
                quota = round(n * config.interests_share) if has_history else n
                taken = blocked | {candidate.item_id for candidate in found}
                found += self.semantic.from_interests(interests, quota, accept, taken)
        except Exception as error:  # a failing source degrades the page, never fails it
            logger.exception("semantic sources failed for user %s", page.user_id)
            page.degraded = True
            page.reasons.append(f"text-similarity recommendations failed ({type(error).__name__})")
            return []
        return found

    def _new_items(self, bundle: ModelBundle | None) -> set[str]:
        """Catalog items no behaviour model of ``bundle`` knows (recomputed when the catalog or
        the model version changes): text is the only way they can be found yet."""
        key = (self.catalog.revision, bundle.version if bundle is not None else None)
        if self._new is None or self._new[0] != key:
            models = list(bundle.models.values()) if bundle is not None else []
            new = {
                item_id
                for item_id in self.catalog.ids()
                if all(model.item_index(item_id) is None for model in models)
            }
            self._new = (key, new)
        return self._new[1]

    def _add_extras(self, page: Homepage, extras: list[SemanticCandidate], n: int) -> None:
        """Interleave text-based picks with the personal ones: every fourth slot, starting at
        the third, so the model's best picks stay on top and new items are still seen."""
        items = list(page.items)
        position = 2
        for extra in extras:
            entry = self._item(extra.item_id, extra.score, extra.source, extra.reason)
            items.insert(min(position, len(items)), entry)
            position += 4 if len(page.items) else 1
        page.items = items[:n]

    def _history(self, events: Sequence[StoredEvent], item_index: Callable[[str], int | None]) -> _History:
        """The user's weighted events mapped onto the model's item indices."""
        weights = self.settings.event_weights
        indices: list[int] = []
        values: list[float] = []
        for event in events:
            weight = weights.get(event.type, 0.0)
            index = item_index(event.item_id)
            if weight != 0.0 and index is not None:
                indices.append(index)
                values.append(weight)
        return _History(np.array(indices, dtype=np.int64), np.array(values, dtype=np.float32))

    def _fill_personal(
        self,
        page: Homepage,
        bundle: ModelBundle,
        history: _History,
        allowed: np.ndarray,
        n: int,
        quiet: bool = False,
    ) -> None:
        """Personal candidates from the first personal model that works: the Transformer user
        model reading the fresh sequence, else ALS folded in from the fresh history."""
        models = [(name, bundle.get(name)) for name in PERSONAL_MODELS if bundle.get(name) is not None]
        if not models:
            return
        positive = history.weights > 0
        if not positive.any():
            if not quiet:  # a user with stated interests is served from them, not degraded
                page.degraded = True
                page.reasons.append("no history for this user yet: serving popular items")
            return
        if n <= 0:
            return
        for name, model in models:
            assert model is not None
            try:
                chosen, values = self._retrieve(name, model, history, allowed, n)
                reasons = self._because(model, history.items[positive], chosen)
            except Exception as error:  # a failing source degrades the page, never fails it
                logger.exception("personal source %s failed for user %s", name, page.user_id)
                page.degraded = True
                page.reasons.append(f"{name} recommendations failed ({type(error).__name__})")
                continue
            for index, score, reason in zip(chosen, values, reasons, strict=False):
                page.items.append(self._item(model.item_ids[index], float(score), name, reason))
                allowed[index] = False
            return

    def _retrieve(
        self, name: str, model: Recommender, history: _History, allowed: np.ndarray, n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` allowed item indices and scores: the user's vector against the model's vector
        index (exact or HNSW by catalog size), else every item scored."""
        index = self.indexes.get(name)
        if index is not None and isinstance(model, VectorScorer):
            return index.search_slots(model.user_vector(history.items, history.weights), n, allowed)
        scores = np.array(model.score_history(history.items, history.weights), dtype=np.float64)
        scores[~allowed] = -np.inf
        indices, values = top_k(scores[None, :], n)
        keep = indices[0] >= 0
        return indices[0][keep], values[0][keep]

    def _because(self, model: Recommender, liked: np.ndarray, chosen: np.ndarray) -> list[str]:
        """For each recommended item, name the liked item whose vector points most towards it."""
        vectors = model.item_vectors()
        if len(chosen) == 0 or vectors is None:
            return ["Picked for your tastes"] * len(chosen)
        contributions = vectors[chosen] @ vectors[liked].T
        anchors = liked[np.argmax(contributions, axis=1)]
        reasons = []
        for anchor in anchors:
            entry = self.catalog.get(model.item_ids[int(anchor)])
            reasons.append(
                f"Because you liked {entry.title}" if entry is not None else "Picked for your tastes"
            )
        return reasons

    def _fill_popular(
        self,
        page: Homepage,
        bundle: ModelBundle,
        allowed: np.ndarray,
        n: int,
        history: _History | None = None,
        profile: UserProfile | None = None,
    ) -> None:
        """Fill up with what people like this user pick (the profile model: popularity tilted
        by the user's profile groups and first events), else with plain popularity."""
        missing = n - len(page.items)
        if missing <= 0:
            return
        model = bundle.get("profile")
        source, reason = "popular", "Popular right now"
        scores: np.ndarray | None = None
        liked = history is not None and bool((history.weights > 0).any())
        if (
            isinstance(model, ProfileRecommender)
            and history is not None
            and (liked or self._groups(bundle, profile))
        ):
            try:  # with neither history nor a known profile group it is plain popularity: skip it
                scores = model.score_profile(history.items, history.weights, profile)
                source = "profile"
                reason = "Often chosen with what you liked" if liked else "Popular with people like you"
            except Exception as error:
                logger.exception("the profile model failed for user %s", page.user_id)
                page.degraded = True
                page.reasons.append(f"profile recommendations failed ({type(error).__name__})")
        if scores is None or model is None:
            model = bundle.get("popularity")
            if model is None:
                return
            scores = model.score_history(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        scores = np.array(scores, dtype=np.float64)
        scores[~allowed] = -np.inf
        indices, values = top_k(scores[None, :], missing)
        for index, score in zip(indices[0], values[0], strict=True):
            if index < 0:
                break
            page.items.append(self._item(model.item_ids[index], float(score), source, reason))
            allowed[index] = False

    @staticmethod
    def _groups(bundle: ModelBundle, profile: UserProfile | None) -> bool:
        """Whether the profile model knows a group this profile belongs to."""
        model = bundle.get("profile")
        return isinstance(model, ProfileRecommender) and bool(model.known_groups(profile))

    # -- lists beside the page ------------------------------------------
    def popular(self, n: int, category: str | None = None) -> Homepage:
        """The most popular servable items (optionally of one category)."""
        bundle, masks = self.bundle, self.masks
        page = Homepage(
            request_id=uuid.uuid4().hex,
            user_id="",
            model_version=bundle.version if bundle else None,
        )
        if bundle is None or masks is None:
            page.degraded = True
            page.reasons.append("no trained model yet: serving live popularity")
            self._fill_live_popular(page, n, set(), category)
            return page
        allowed = masks.servable().copy()
        if category is not None:
            allowed &= masks.category(category)
        self._fill_popular(page, bundle, allowed, n)
        return page

    def similar(self, item_id: str, n: int, by: str = "auto") -> Homepage:
        """Items closest to ``item_id``: by behaviour (ALS item vectors) or by text (language
        model); ``auto`` uses behaviour when the model knows the item, else text, else the
        popular items of its category."""
        bundle, masks = self.bundle, self.masks
        page = Homepage(
            request_id=uuid.uuid4().hex,
            user_id="",
            model_version=bundle.version if bundle else None,
        )
        als = bundle.get("als") if bundle is not None else None
        entry = self.catalog.get(item_id)
        known = isinstance(als, AlsRecommender) and masks is not None and als.item_index(item_id) is not None
        if by in ("auto", "behaviour") and known:
            assert isinstance(als, AlsRecommender) and masks is not None
            servable = masks.servable()
            for other, score in als.similar_items(item_id, n + 50):
                index = als.item_index(other)
                if index is not None and servable[index]:
                    reason = f"Often liked together with {entry.title}" if entry else "Similar"
                    page.items.append(self._item(other, score, "als", reason))
                if len(page.items) >= n:
                    break
            return page
        if by in ("auto", "text") and self.semantic is not None:
            hits = self.semantic.space.similar(item_id, n, self._active)
            if hits:
                reason = f"Similar to {entry.title}" if entry else "Similar"
                page.items = [self._item(hit.item_id, hit.score, "text", reason) for hit in hits]
                return page
        page.degraded = True
        missing = {"behaviour": "no collaborative vector", "text": "no text vector"}.get(
            by, "no collaborative or text vector"
        )
        page.reasons.append(f"{missing} for this item yet: serving popular items of its category")
        category = entry.category if entry is not None else None
        fallback = self.popular(n + 1, category)
        page.items = [item for item in fallback.items if item.item_id != item_id][:n]
        return page

    def _active(self, item_id: str) -> bool:
        entry = self.catalog.get(item_id)
        return entry is not None and entry.active

    def _fill_live_popular(self, page: Homepage, n: int, blocked: set[str], category: str | None) -> None:
        fetched_at, ranked = self._live_popularity
        if time.monotonic() - fetched_at > LIVE_POPULARITY_TTL:
            positive = [name for name, weight in self.settings.event_weights.items() if weight > 0]
            ranked = self.store.item_popularity(positive, limit=5000)
            self._live_popularity = (time.monotonic(), ranked)
        for item_id, count in ranked:
            entry = self.catalog.get(item_id)
            if entry is None or not entry.active or item_id in blocked:
                continue
            if category is not None and entry.category != category:
                continue
            page.items.append(self._item(item_id, float(count), "popular", "Popular right now"))
            if len(page.items) >= n:
                break

    def _fill_fresh(self, page: Homepage, n: int, blocked: set[str], category: str | None) -> None:
        """Last resort, and the way in for items newer than the model: newest first."""
        if len(page.items) >= n:
            return
        shown = {item.item_id for item in page.items}
        for item_id in self.catalog.newest():
            entry = self.catalog.get(item_id)
            if item_id in blocked or item_id in shown or entry is None:
                continue
            if category is not None and entry.category != category:
                continue
            page.items.append(self._item(item_id, 0.0, "fresh", "New in the catalog"))
            if len(page.items) >= n:
                break

    def _item(self, item_id: str, score: float, source: str, reason: str) -> HomepageItem:
        entry = self.catalog.get(item_id)
        return HomepageItem(
            item_id=item_id,
            title=entry.title if entry else item_id,
            category=entry.category if entry else None,
            score=score,
            source=source,
            reason=reason,
        )

    def _log(self, page: Homepage) -> None:
        if self.impressions is None or not page.items:
            return
        now = time.time()
        self.impressions.log(
            [
                Impression(
                    page.request_id,
                    page.user_id,
                    item.item_id,
                    position,
                    "main",
                    item.source,
                    page.model_version,
                    now,
                )
                for position, item in enumerate(page.items)
            ]
        )
