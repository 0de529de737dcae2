"""The homepage pipeline: request → sources → filters → composer → page, declared by name in
the settings (``HOMEFEED_HOMEPAGE__SOURCES`` and friends) and checked at start-up.

Every source may fail open: its error is logged, the page is served from the others and the
answer says ``degraded`` with the source named. A wiring error (an unknown name) fails loudly.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

import numpy as np

from homefeed.config import HomepageSettings, Settings
from homefeed.domain import Item, ShownPage, UserProfile
from homefeed.homepage import composer, related
from homefeed.homepage.cache import TimedCache
from homefeed.homepage.cursor import Cursor, ShownItems, encode_cursor
from homefeed.homepage.diversity import mmr_order
from homefeed.homepage.experiments import Variant, assign_arm, build_variants
from homefeed.homepage.filters import CandidateFilter, filter_factories
from homefeed.homepage.live import LiveStats
from homefeed.homepage.page import Candidate, Homepage
from homefeed.homepage.placement import Promotions, explore
from homefeed.homepage.request import History, PageRequest
from homefeed.homepage.semantic import SemanticSources
from homefeed.homepage.sources import PERSONAL_MODELS, CandidateSource, Services, VectorScorer
from homefeed.models.bundle import ModelBundle
from homefeed.models.context import RequestContext
from homefeed.serving.catalog import Catalog, VocabularyMasks
from homefeed.serving.impressions import ImpressionLogger
from homefeed.serving.new_items import NewItemVectors
from homefeed.store import Store
from homefeed.store.store import StoredEvent
from homefeed.vectors import IndexConfig

logger = logging.getLogger(__name__)
LEADING = "personal"  # the source whose order leads the page; the others are interleaved
PROFILE_TTL = 30.0  # seconds a user's profile is served from memory
IGNORED_TTL = 60.0  # seconds a user's ignored items are served from memory


class HomepagePipeline:
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
        self.store, self.settings, self.catalog = store, settings, catalog
        self.semantic, self.impressions = semantic, impressions

        live: dict[tuple[float, ...], LiveStats] = {}

        def services(chosen: Settings) -> Services:
            # arms that read the logs the same way share one set of live aggregates (and queries)
            declared = chosen.homepage
            key = (declared.trending_half_life_hours, declared.trending_days, declared.ignore_days)
            shared = live.setdefault(key, LiveStats(store, chosen))
            return Services(store, chosen, catalog, shared, semantic, new_items=self._new_items)

        self.variants = build_variants(settings, services, filter_factories(catalog))
        self.services = self.variants[None].services
        self.bundle: ModelBundle | None = None
        self.masks: VocabularyMasks | None = None
        self._profiles: TimedCache[str, UserProfile | None] = TimedCache(PROFILE_TTL)
        self._new: tuple[tuple[int, str | None], set[str]] | None = None
        self._promotions = Promotions(store)
        self._shown = ShownItems(logged=store.shown_items if impressions is not None else None)
        self._ignored: TimedCache[str, set[str]] = TimedCache(IGNORED_TTL)
        self.set_bundle(bundle)

    def set_bundle(self, bundle: ModelBundle | None) -> None:
        """Swap in a newly trained version (atomic for readers: one attribute assignment each)."""
        masks = None
        indexes = {}
        if bundle is not None and bundle.models:
            masks = VocabularyMasks(self.catalog, next(iter(bundle.models.values())).item_ids)
            config = IndexConfig(hnsw_above=self.settings.semantic.exact_below)
            for name in PERSONAL_MODELS:
                index = (
                    bundle.vector_index(name, config) if isinstance(bundle.get(name), VectorScorer) else None
                )
                if index is not None:  # slots are the model's item indices: request masks apply as is
                    indexes[name] = index
        new_vectors = None
        if bundle is not None and self.semantic is not None:
            new_vectors = NewItemVectors.place(bundle, self.catalog, self.store, self.semantic.space)
        self.bundle, self.masks = bundle, masks
        for variant in self.variants.values():
            variant.services.indexes = indexes
            variant.services.new_vectors = new_vectors

    def items_written(self, items: list[Item]) -> None:
        """Place items just written (already in the catalog and the text index) in the current
        version's behaviour space, when they are new to it; a failure is logged, not raised."""
        vectors = self.services.new_vectors
        if vectors is None or self.semantic is None or not items:
            return
        try:
            vectors.upsert(items, self.semantic.space.vectors([item.id for item in items]))
        except Exception:
            logger.exception("mapping %d written items failed", len(items))

    def item_removed(self, item_id: str) -> None:
        vectors = self.services.new_vectors
        if vectors is not None:
            vectors.remove({item_id})

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
        request_id: str | None = None,
        explain: bool = False,
        context: RequestContext | None = None,
    ) -> Homepage:
        """The user's page; ``request_id`` (default: a new one) also seeds exploration, so
        a page can be rebuilt exactly; ``explain`` attaches scores and feature values;
        ``context`` carries the request's device and surface (its time is taken now)."""
        experiment = self.settings.experiment
        variant = self.variants[assign_arm(experiment, user_id) if experiment is not None else None]
        request = self._request(user_id, n, exclude, category, request_id or uuid.uuid4().hex, variant)
        request.explain = explain
        request.context = self._context(request, context or RequestContext())
        page = request.page
        if experiment is not None:
            page.experiment, page.arm = experiment.name, variant.arm
        if request.bundle is None:
            page.degrade("no trained model yet: serving live popularity and text similarity")
        leading: list[Candidate] = []
        extras: list[Candidate] = []
        declared = variant.settings.homepage
        for source in variant.sources:
            if source.name == LEADING:
                extra = min(declared.diversity_depth, n) if declared.diversity > 0 else 0
                found = self._run(source, request, n + extra, variant.filters)
                leading += self._diversify(found, n, request, declared)
            else:
                extras += self._run(source, request, n, variant.filters)
        cap = declared.max_per_category
        chosen = composer.capped(composer.interleave(leading, extras, n), cap, self.catalog, request)
        for source in variant.fill:
            if len(chosen) >= n:
                break
            wanted = n - len(chosen)
            found = self._run(source, request, wanted if cap is None else 3 * wanted, variant.filters)
            chosen += composer.capped(found, cap, self.catalog, request, chosen)[:wanted]
        explored = explore(request, chosen, n, declared, variant.services, self._new_items(request.bundle))
        chosen = self._promotions.place(request, explored, n, self.services.fits)
        if "no-history" in request.notes and not extras and "profile" not in request.notes:
            page.degrade("no history for this user yet: serving popular items")
        page.items = [composer.to_item(candidate, self.catalog) for candidate in chosen[:n]]
        page.sections = composer.sections(page.items, self.catalog)
        self._shown.add(page.request_id, [item.item_id for item in page.items])
        variant.services.live.note_shown(item.item_id for item in page.items)
        page.cursor = encode_cursor(Cursor(user_id, (page.request_id,)))
        self._log(page)
        return page

    def _run(
        self, source: CandidateSource, request: PageRequest, quota: int, filters: Sequence[CandidateFilter]
    ) -> list[Candidate]:
        """One source's candidates after every filter; a failing source degrades the page."""
        try:
            found = source.fetch(request, quota)
        except Exception as error:
            logger.exception("source %s failed for user %s", source.name, request.user_id)
            request.page.degrade(f"{source.name} recommendations failed ({type(error).__name__})")
            return []
        for candidate_filter in filters:
            if not found:
                break
            result = candidate_filter.apply(request, found)
            if result.removed:
                removed = request.page.removed
                removed[candidate_filter.name] = removed.get(candidate_filter.name, 0) + len(result.removed)
            found = result.kept
        request.take_all([candidate.item_id for candidate in found])
        return found

    def next_page(
        self,
        cursor: str,
        user_id: str,
        n: int,
        exclude: Collection[str] = (),
        category: str | None = None,
        context: RequestContext | None = None,
        request_id: str | None = None,
    ) -> Homepage:
        """The page after the one ``cursor`` points at: built now, without any item already
        shown under that cursor, so scrolling never repeats an item even as events arrive."""
        position, shown = self._shown.of(cursor, user_id)
        page = self.build(
            user_id, n, set(exclude) | set(shown), category, request_id=request_id, context=context
        )
        self._shown.add(position.session, [item.item_id for item in page.items])
        page.cursor = encode_cursor(position.after(page.request_id))
        return page

    def load_promotions(self) -> None:
        """Re-read promotions now (after a write through this worker's API)."""
        self._promotions.load()

    def _diversify(
        self, found: list[Candidate], n: int, request: PageRequest, declared: HomepageSettings
    ) -> list[Candidate]:
        """The first ``diversity_depth`` slots in MMR order over the text vectors of twice as
        many best candidates, then the rest in the model's order, ``n`` in all; candidates left
        out are released for later sources. Without text vectors, the model's order."""
        depth = min(declared.diversity_depth, n)
        if declared.diversity <= 0 or self.semantic is None or len(found) <= 1:
            kept = found[:n]
        else:
            pool = found[: 2 * depth]
            vectors = self.semantic.space.vectors([candidate.item_id for candidate in pool])
            unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            scores = np.array([candidate.score for candidate in pool], dtype=np.float64)
            picked = mmr_order(scores, unit, depth, declared.diversity).tolist()
            chosen = set(picked)
            rest = [candidate for position, candidate in enumerate(found) if position not in chosen]
            kept = [pool[position] for position in picked] + rest[: n - len(picked)]
        placed = {candidate.item_id for candidate in kept}
        for candidate in found:
            if candidate.item_id not in placed:
                request.release(candidate.item_id)
        return kept

    def _request(
        self,
        user_id: str,
        n: int,
        exclude: Collection[str],
        category: str | None,
        request_id: str,
        variant: Variant,
    ) -> PageRequest:
        bundle, masks = self.bundle, self.masks
        page = Homepage(request_id=request_id, user_id=user_id, model_version=self.model_version)
        events = self.store.user_events(user_id, self.settings.history_length)
        weights = self.settings.event_weights
        event_weights = [weights.get(event.type, 0.0) for event in events]
        profile = self._profile(user_id)
        interests = profile.interests if profile is not None and self.semantic is not None else None
        request = PageRequest(
            user_id=user_id,
            n=n,
            category=category,
            events=events,
            event_weights=event_weights,
            profile=profile,
            interests=interests,
            seen={
                event.item_id for event, weight in zip(events, event_weights, strict=True) if weight != 0.0
            },
            excluded=frozenset(exclude),
            disliked=set(),
            page=page,
        )
        request.disliked = self._disliked(request)
        if "ignored" in variant.settings.homepage.filters:
            request.ignored = self._ignored_items(request, variant.settings.homepage) - request.seen
        if bundle is not None and masks is not None and bundle.models:
            model = next(iter(bundle.models.values()))
            allowed = masks.servable().copy()
            if category is not None:
                allowed &= masks.category(category)
            blocked = [index for index in map(model.item_index, request.blocked) if index is not None]
            allowed[blocked] = False
            request.bundle, request.masks, request.allowed = bundle, masks, allowed
            request.index_of = model.item_index
            request.history = self._history(events, event_weights, model.item_index)
        return request

    def _context(self, request: PageRequest, given: RequestContext) -> RequestContext:
        """The request's device and surface, the time now, and the stated interests embedded
        (what the ranker's context features read)."""
        liked = disliked = None
        if self.semantic is not None and request.interests:
            try:
                query = self.semantic.space.interest_query(request.interests)
                liked, disliked = query.liked, query.disliked
            except Exception as error:  # the page goes on without the interest features
                logger.exception("embedding the interests of %s failed", request.user_id)
                request.page.degrade(f"stated interests could not be read ({type(error).__name__})")
        return replace(given, time=time.time(), liked=liked, disliked=disliked)

    @staticmethod
    def _history(
        events: Sequence[StoredEvent], weights: Sequence[float], item_index: Callable[[str], int | None]
    ) -> History:
        """The user's weighted events mapped onto the model's item indices."""
        pairs = [(item_index(e.item_id), w) for e, w in zip(events, weights, strict=True) if w != 0.0]
        known = [(index, weight) for index, weight in pairs if index is not None]
        return History(
            np.array([index for index, _ in known], dtype=np.int64),
            np.array([weight for _, weight in known], dtype=np.float32),
        )

    def _ignored_items(self, request: PageRequest, declared: HomepageSettings) -> set[str]:
        """Items shown to the user ``ignore_after`` times lately without any event on them;
        cached per user for IGNORED_TTL seconds (impressions are written in the background)."""

        def load(user_id: str) -> set[str]:
            since = time.time() - declared.ignore_days * 86_400
            return self.store.ignored_items(user_id, declared.ignore_after, since)

        try:
            return self._ignored.get(request.user_id, load)
        except Exception as error:
            logger.exception("reading impressions failed for %s", request.user_id)
            request.page.degrade(f"ignored items could not be read ({type(error).__name__})")
            return set()

    def _disliked(self, request: PageRequest) -> set[str]:
        if self.semantic is None or not request.interests:
            return set()
        try:
            return self.semantic.avoided(request.interests)
        except Exception as error:
            logger.exception("reading disliked interests failed for %s", request.user_id)
            request.page.degrade(f"stated dislikes could not be applied ({type(error).__name__})")
            return set()

    def _profile(self, user_id: str) -> UserProfile | None:
        """The user's profile, cached for PROFILE_TTL seconds (the users route forgets a user it
        writes, so an API change shows at once). Read only when a source uses it: stated
        interests (text) or profile groups (the profile model)."""
        if self.semantic is None and (self.bundle is None or self.bundle.get("profile") is None):
            return None
        try:
            return self._profiles.get(user_id, self.store.get_user)
        except Exception:  # the page does without the profile rather than failing
            logger.exception("reading the profile of %s failed", user_id)
            return None

    def forget_user(self, user_id: str) -> None:
        """Drop what is cached about a user whose profile was just written or deleted."""
        self._profiles.forget(user_id)

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

    def _log(self, page: Homepage) -> None:
        if self.impressions is None or not page.items:
            return
        section_of = {item.item_id: section.key for section in page.sections for item in section.items}
        shown = tuple(
            (item.item_id, position, section_of.get(item.item_id, "main"), item.source)
            for position, item in enumerate(page.items)
        )
        now = time.time()
        version, experiment, arm = page.model_version, page.experiment, page.arm
        self.impressions.log(ShownPage(page.request_id, page.user_id, version, now, experiment, arm, shown))

    # -- lists beside the page ------------------------------------------
    def popular(self, n: int, category: str | None = None) -> Homepage:
        return related.popular(self, n, category)

    def similar(self, item_id: str, n: int, by: str = "auto") -> Homepage:
        return related.similar(self, item_id, n, by)
