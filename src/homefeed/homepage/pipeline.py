"""The homepage pipeline: request → sources → filters → composer → page, declared by name in
the settings (``HOMEFEED_HOMEPAGE__SOURCES`` and friends) and checked at start-up.

Every source may fail open: its error is logged, the page is served from the others and the
answer says ``degraded`` with the source named. A wiring error (an unknown name) fails loudly.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Collection, Sequence

import numpy as np

from homefeed.config import Settings
from homefeed.domain import Impression, Promotion, UserProfile
from homefeed.errors import ConfigurationError, InvalidInputError
from homefeed.homepage import composer, related
from homefeed.homepage.diversity import mmr_order
from homefeed.homepage.filters import CandidateFilter, filter_factories
from homefeed.homepage.page import Candidate, Explanation, Homepage
from homefeed.homepage.request import History, PageRequest
from homefeed.homepage.semantic import SemanticSources
from homefeed.homepage.sources import PERSONAL_MODELS, SOURCES, CandidateSource, Services, VectorScorer
from homefeed.models.bundle import ModelBundle
from homefeed.serving.catalog import Catalog, VocabularyMasks
from homefeed.serving.impressions import ImpressionLogger
from homefeed.store import Store
from homefeed.store.store import StoredEvent
from homefeed.vectors import IndexConfig

logger = logging.getLogger(__name__)
LEADING = "personal"  # the source whose order leads the page; the others are interleaved
PROFILE_TTL = 30.0  # seconds a user's profile is served from memory
PROFILE_CACHE_SIZE = 100_000
PROMOTIONS_TTL = 10.0  # seconds: how stale another worker's promotions may be
IGNORED_TTL = 60.0  # seconds a user's ignored items are served from memory
CURSOR_SESSIONS = 20_000  # first pages whose shown items are remembered for their cursor


def encode_cursor(session: str, user_id: str) -> str:
    """An opaque cursor: the first page's request id and the user, base64url."""
    raw = json.dumps({"s": session, "u": user_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        return str(data["s"]), str(data["u"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInputError("cursor: not a cursor this API returned", field="cursor") from None


def _declared(kind: str, names: Sequence[str], known: Collection[str]) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigurationError(
            f"homepage.{kind}: unknown component(s) {unknown}; valid names are {sorted(known)}"
        )


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
        declared = settings.homepage
        _declared("sources", declared.sources, SOURCES)
        _declared("fill", declared.fill, SOURCES)
        filters = filter_factories(catalog)
        _declared("filters", declared.filters, filters)
        self.store, self.settings, self.catalog = store, settings, catalog
        self.semantic, self.impressions = semantic, impressions
        self.services = Services(store, settings, catalog, semantic, new_items=self._new_items)
        self.sources: list[CandidateSource] = [SOURCES[name](self.services) for name in declared.sources]
        self.fill: list[CandidateSource] = [SOURCES[name](self.services) for name in declared.fill]
        self.filters: list[CandidateFilter] = [filters[name]() for name in declared.filters]
        self.bundle: ModelBundle | None = None
        self.masks: VocabularyMasks | None = None
        self._profiles: dict[str, tuple[float, UserProfile | None]] = {}
        self._new: tuple[tuple[int, str | None], set[str]] | None = None
        self._promotions: tuple[float, list[Promotion]] = (-PROMOTIONS_TTL, [])
        self._shown: OrderedDict[str, list[str]] = OrderedDict()  # cursor session -> items shown
        self._ignored_cache: dict[str, tuple[float, set[str]]] = {}
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
        self.bundle, self.masks, self.services.indexes = bundle, masks, indexes

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
    ) -> Homepage:
        """The user's page; ``request_id`` (default: a new one) also seeds exploration, so
        a page can be rebuilt exactly; ``explain`` attaches scores and feature values."""
        request = self._request(user_id, n, exclude, category, request_id or uuid.uuid4().hex)
        request.explain = explain
        page = request.page
        if request.bundle is None:
            page.degrade("no trained model yet: serving live popularity and text similarity")
        leading: list[Candidate] = []
        extras: list[Candidate] = []
        declared = self.settings.homepage
        for source in self.sources:
            if source.name == LEADING:
                extra = min(declared.diversity_depth, n) if declared.diversity > 0 else 0
                leading += self._diversify(self._run(source, request, n + extra), n, request)
            else:
                extras += self._run(source, request, n)
        cap = declared.max_per_category
        chosen = composer.capped(composer.interleave(leading, extras, n), cap, self.catalog, request)
        for source in self.fill:
            if len(chosen) >= n:
                break
            wanted = n - len(chosen)
            found = self._run(source, request, wanted if cap is None else 3 * wanted)
            chosen += composer.capped(found, cap, self.catalog, request, chosen)[:wanted]
        chosen = self._promote(request, self._explore(request, chosen, n), n)
        if "no-history" in request.notes and not extras and "profile" not in request.notes:
            page.degrade("no history for this user yet: serving popular items")
        page.items = [composer.to_item(candidate, self.catalog) for candidate in chosen[:n]]
        page.sections = composer.sections(page.items, self.catalog)
        self._remember(page.request_id, [item.item_id for item in page.items])
        page.cursor = encode_cursor(page.request_id, user_id)
        self._log(page)
        return page

    def _run(self, source: CandidateSource, request: PageRequest, quota: int) -> list[Candidate]:
        """One source's candidates after every filter; a failing source degrades the page."""
        try:
            found = source.fetch(request, quota)
        except Exception as error:
            logger.exception("source %s failed for user %s", source.name, request.user_id)
            request.page.degrade(f"{source.name} recommendations failed ({type(error).__name__})")
            return []
        for candidate_filter in self.filters:
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
        self, cursor: str, user_id: str, n: int, exclude: Collection[str] = (), category: str | None = None
    ) -> Homepage:
        """The page after the one ``cursor`` points at: built now, without any item already
        shown under that cursor, so scrolling never repeats an item even as events arrive."""
        session, user = decode_cursor(cursor)
        shown = self._shown.get(session)
        if shown is None or user != user_id:
            raise InvalidInputError(
                "cursor: unknown or expired (cursors live in one worker's memory for a while); "
                "request the first page again",
                field="cursor",
            )
        page = self.build(user_id, n, set(exclude) | set(shown), category)
        self._remember(session, [item.item_id for item in page.items])
        page.cursor = encode_cursor(session, user_id)
        return page

    def _remember(self, session: str, item_ids: list[str]) -> None:
        shown = self._shown.pop(session, [])
        self._shown[session] = shown + item_ids
        while len(self._shown) > CURSOR_SESSIONS:
            self._shown.popitem(last=False)

    def load_promotions(self) -> None:
        """Re-read promotions from the store (after a write; other workers every PROMOTIONS_TTL)."""
        try:
            self._promotions = (time.monotonic(), self.store.list_promotions())
        except Exception:  # pages go on without promotions rather than failing
            logger.exception("reading promotions failed")

    def _promote(self, request: PageRequest, chosen: list[Candidate], n: int) -> list[Candidate]:
        """Put each active promotion's item at its slot, when it may be shown to this user
        (active, in the requested category, not seen, excluded or disliked)."""
        if time.monotonic() - self._promotions[0] > PROMOTIONS_TTL:
            self.load_promotions()
        now = time.time()
        page = list(chosen)
        for promotion in self._promotions[1]:
            item_id = promotion.item_id
            entry = self.catalog.get(item_id)
            blocked = item_id in request.seen or item_id in request.excluded or item_id in request.disliked
            if not promotion.active(now) or entry is None or not entry.active or blocked:
                continue
            if request.category is not None and entry.category != request.category:
                continue
            page = [candidate for candidate in page if candidate.item_id != item_id]
            why = Explanation("promoted", promotion.label, (promotion.id,))
            page.insert(min(promotion.position - 1, len(page)), Candidate(item_id, 0.0, "promoted", why))
        return page[:n]

    def _explore(self, request: PageRequest, chosen: list[Candidate], n: int) -> list[Candidate]:
        """ε-greedy exploration with a fixed share: ``exploration_slots`` of the page go to new
        items the user has not seen, drawn at random (seeded by the request id, so the page
        can be reproduced) among the newest servable items, preferring items no model knows."""
        declared = self.settings.homepage
        if declared.exploration_slots == 0 or n < declared.exploration_first_slot:
            return chosen
        on_page = {candidate.item_id for candidate in chosen}
        new = self._new_items(request.bundle)
        cap = declared.max_per_category
        kept = chosen[: n - declared.exploration_slots]
        full = set()
        if cap is not None:
            counts = Counter(self._category(candidate.item_id) for candidate in kept)
            full = {category for category, count in counts.items() if count >= cap}
        pool: list[str] = []
        for item_id in self.catalog.newest():
            if item_id in on_page or self._category(item_id) in full - {None}:
                continue
            if self.services.servable(item_id, request):
                pool.append(item_id)
                if len(pool) >= declared.exploration_pool:
                    break
        unknown = [item_id for item_id in pool if item_id in new]
        pool = unknown or pool  # items no model knows yet come first: only exploring finds them
        if not pool:
            return chosen
        seed = int(uuid.uuid5(uuid.NAMESPACE_OID, request.page.request_id).int % 2**63)
        rng = np.random.default_rng(seed)
        picks = rng.choice(len(pool), size=min(declared.exploration_slots, len(pool)), replace=False)
        page = list(kept)
        step = max(n // declared.exploration_slots, 1)
        why = Explanation("exploration", "New here: see if it is for you")
        for number, pick in enumerate(sorted(picks.tolist())):
            slot = declared.exploration_first_slot - 1 + number * step
            page.insert(min(slot, len(page)), Candidate(pool[pick], 0.0, "explore", why))
        return page[:n]

    def _category(self, item_id: str) -> str | None:
        entry = self.catalog.get(item_id)
        return entry.category if entry is not None else None

    def _diversify(self, found: list[Candidate], n: int, request: PageRequest) -> list[Candidate]:
        """The first ``diversity_depth`` slots in MMR order over the text vectors of twice as
        many best candidates, then the rest in the model's order, ``n`` in all; candidates left
        out are released for later sources. Without text vectors, the model's order."""
        declared = self.settings.homepage
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
        self, user_id: str, n: int, exclude: Collection[str], category: str | None, request_id: str
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
        if "ignored" in self.settings.homepage.filters:
            request.ignored = self._ignored(request) - request.seen
        if bundle is not None and masks is not None and bundle.models:
            model = next(iter(bundle.models.values()))
            allowed = masks.servable().copy()
            if category is not None:
                allowed &= masks.category(category)
            for item_id in request.blocked:
                index = model.item_index(item_id)
                if index is not None:
                    allowed[index] = False
            request.bundle, request.masks, request.allowed = bundle, masks, allowed
            request.index_of = model.item_index
            request.history = self._history(events, event_weights, model.item_index)
        return request

    @staticmethod
    def _history(events: Sequence[StoredEvent], weights: Sequence[float], item_index: object) -> History:
        """The user's weighted events mapped onto the model's item indices."""
        assert callable(item_index)
        pairs = [(item_index(e.item_id), w) for e, w in zip(events, weights, strict=True) if w != 0.0]
        known = [(index, weight) for index, weight in pairs if index is not None]
        return History(
            np.array([index for index, _ in known], dtype=np.int64),
            np.array([weight for _, weight in known], dtype=np.float32),
        )

    def _ignored(self, request: PageRequest) -> set[str]:
        """Items shown to the user ``ignore_after`` times lately without any event on them;
        cached per user for IGNORED_TTL seconds (impressions are written in the background)."""
        cached = self._ignored_cache.get(request.user_id)
        if cached is not None and time.monotonic() - cached[0] < IGNORED_TTL:
            return cached[1]
        declared = self.settings.homepage
        since = time.time() - declared.ignore_days * 86_400
        try:
            ignored = self.store.ignored_items(request.user_id, declared.ignore_after, since)
        except Exception as error:
            logger.exception("reading impressions failed for %s", request.user_id)
            request.page.degrade(f"ignored items could not be read ({type(error).__name__})")
            return set()
        if len(self._ignored_cache) >= PROFILE_CACHE_SIZE:
            self._ignored_cache.clear()
        self._ignored_cache[request.user_id] = (time.monotonic(), ignored)
        return ignored

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
        now = time.time()
        section_of = {item.item_id: section.key for section in page.sections for item in section.items}
        self.impressions.log(
            [
                Impression(
                    page.request_id,
                    page.user_id,
                    item.item_id,
                    position,
                    section_of.get(item.item_id, "main"),
                    item.source,
                    page.model_version,
                    now,
                )
                for position, item in enumerate(page.items)
            ]
        )

    # -- lists beside the page ------------------------------------------
    def popular(self, n: int, category: str | None = None) -> Homepage:
        return related.popular(self, n, category)

    def similar(self, item_id: str, n: int, by: str = "auto") -> Homepage:
        return related.similar(self, item_id, n, by)
