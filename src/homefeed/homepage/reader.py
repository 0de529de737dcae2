"""Reading a page's query: the user's latest events weighted as the served version was
trained, their profile and stated interests, what is withheld from them, the request's
context, and the masks over the version's items. Caches what is read per user for a few
seconds; a part that cannot be read is left out and named, so the page says so."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from itertools import chain

import numpy as np

from homefeed.config import HomepageSettings, Settings
from homefeed.domain import UserProfile
from homefeed.events import EventPolicy
from homefeed.homepage.query import History, PageQuery, PriceRange, ServedVersion
from homefeed.homepage.semantic import SemanticSources
from homefeed.live.cache import TimedCache
from homefeed.live.catalog import VocabularyMasks
from homefeed.live.clock import Clock
from homefeed.models.context import RequestContext
from homefeed.store import Store, StoredEvent

logger = logging.getLogger(__name__)
PROFILE_TTL = 30.0  # seconds a user's profile is served from memory
IGNORED_TTL = 60.0  # seconds a user's ignored items are served from memory
DISLIKE_ROWS = 256  # stated dislikes whose items' rows are kept per served version


class QueryReader:
    """Reads the frozen :class:`PageQuery` of one request."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        semantic: SemanticSources | None,
        clock: Clock,
        category: Callable[[str], str | None] = lambda _item_id: None,
        prerequisites: Callable[[], Mapping[str, tuple[str, ...]]] = dict,
    ) -> None:
        self.store, self.settings, self.semantic, self.clock = store, settings, semantic, clock
        self._category = category  # an item's category in the live catalog (None: unknown)
        self._prerequisites = prerequisites  # items naming prerequisites, and theirs (the catalog's)
        self._profiles: TimedCache[str, UserProfile | None] = TimedCache(PROFILE_TTL)
        self._ignored: TimedCache[str, set[str]] = TimedCache(IGNORED_TTL)
        # the served version's rows of each stated dislike's items (see _disliked_rows); the
        # version held weakly, so a replaced one is not kept alive by this cache
        self._dislike_rows: tuple[
            Callable[[], ServedVersion | None], OrderedDict[AbstractSet[str], np.ndarray]
        ] = (
            lambda: None,
            OrderedDict(),
        )
        self._rows_lock = threading.Lock()

    def read(
        self,
        request_id: str,
        user_id: str,
        n: int,
        served: ServedVersion | None,
        declared: HomepageSettings,
        exclude: Collection[str] = (),
        category: str | None = None,
        explain: bool = False,
        context: RequestContext | None = None,
        price: PriceRange | None = None,
    ) -> tuple[PageQuery, list[str]]:
        """The query, and what could not be read for it (the page says so)."""
        reasons: list[str] = []
        limit = self.settings.history_length
        events = self.store.logs.user_events(user_id, limit + 1)  # one more: is there an older one?
        longer = len(events) > limit
        events = events[-limit:]
        policy = served.events if served is not None else self.settings.events
        weights = policy.strengths_of((event.type, event.value) for event in events)
        profile = self._profile(user_id, served)
        interests = profile.interests if profile is not None and self.semantic is not None else None
        seen = self._seen(user_id, events, weights, policy, declared, longer, reasons)
        completed, resumable = progress_of(events, declared)
        if completed or resumable:  # started items are shown in their own row, finished ones never
            seen = (set(seen) - set(resumable)) | completed
        context = self._context(user_id, interests, context or RequestContext(), reasons)
        oldest = None
        if declared.max_age_days is not None and "stale" in declared.filters and context.time is not None:
            oldest = context.time - declared.max_age_days * 86_400
        disliked = self._disliked(user_id, interests, reasons)
        ignored: AbstractSet[str] = frozenset()
        if "ignored" in declared.filters:
            ignored = self._ignored_items(user_id, declared, reasons) - seen
        excluded = frozenset(exclude)
        allowed, history = None, None
        if served is not None:
            allowed = self._allowed(served.masks, declared, category, price, oldest)
            index_of = served.vocabulary.item_index
            locked = self._locked(completed) if "prerequisites" in declared.filters else ()
            withheld = chain(seen, excluded, ignored, resumable, locked)
            allowed[[index for index in map(index_of, withheld) if index is not None]] = False
            allowed[self._disliked_rows(served, disliked)] = False
            allowed.flags.writeable = False  # stages read the mask; a source that narrows it copies it
            history = _history(events, weights, index_of)
        query = PageQuery(
            request_id=request_id,
            user_id=user_id,
            n=n,
            category=category,
            price=price,
            oldest=oldest,
            excluded=excluded,
            explain=explain,
            events=tuple(events),
            weights=weights,
            profile=profile,
            interests=interests,
            seen=seen,
            disliked=disliked,
            ignored=ignored,
            completed=completed,
            resumable=resumable,
            context=context,
            version=served,
            allowed=allowed,
            history=history,
        )
        return query, reasons

    def _allowed(
        self,
        masks: VocabularyMasks,
        declared: HomepageSettings,
        category: str | None,
        price: PriceRange | None,
        oldest: float | None,
    ) -> np.ndarray:
        """The version's items the declared filters let through before the user is read:
        active, in the category, and (as declared) in stock, in the price range, recent."""
        allowed: np.ndarray = masks.servable().copy()
        if category is not None:
            allowed &= masks.category(category)
        if "unavailable" in declared.filters:
            allowed &= masks.available()
        if price is not None and "price" in declared.filters:
            allowed &= masks.priced_within(price.low, price.high)
        if oldest is not None:
            allowed &= masks.published_since(oldest)
        return allowed

    def _locked(self, completed: AbstractSet[str]) -> list[str]:
        """Items with a prerequisite the user has not completed."""
        needs = self._prerequisites()
        return [
            item_id
            for item_id, required in needs.items()
            if not all(needed in completed for needed in required)
        ]

    def holds_user(self, user_id: str) -> bool:
        return self._profiles.holds(user_id) or self._ignored.holds(user_id)

    def forget_user(self, user_id: str) -> None:
        """Drop what is cached about a user whose profile was just written or deleted (and
        what was found from stated dislikes: the texts are read again)."""
        self._profiles.forget(user_id)
        self._ignored.forget(user_id)
        with self._rows_lock:
            self._dislike_rows = (lambda: None, OrderedDict())

    def _disliked_rows(self, served: ServedVersion, disliked: AbstractSet[str]) -> np.ndarray:
        """The served version's rows of a stated dislike's items. That set is one object per
        interest text, shared by its pages, and thousands of items strong for a broad topic:
        mapped once per version (the last ``DISLIKE_ROWS`` sets), not on every page."""
        if not disliked:
            return np.zeros(0, dtype=np.int64)
        with self._rows_lock:
            version, rows = self._dislike_rows
            if version() is not served:
                rows = OrderedDict()
                self._dislike_rows = (weakref.ref(served), rows)
            found = rows.get(disliked)
            if found is not None:
                rows.move_to_end(disliked)
                return found
        index_of = served.vocabulary.item_index
        found = np.fromiter((i for i in map(index_of, disliked) if i is not None), dtype=np.int64)
        with self._rows_lock:
            rows[disliked] = found
            while len(rows) > DISLIKE_ROWS:
                rows.popitem(last=False)
        return found

    def _context(
        self, user_id: str, interests: str | None, given: RequestContext, reasons: list[str]
    ) -> RequestContext:
        """The request's device and surface, the time now (the clock's, unless the request
        gives one), and the stated interests embedded (what the ranker's context features read)."""
        liked = disliked = None
        if self.semantic is not None and interests:
            try:
                query = self.semantic.space.interest_query(interests)
                liked, disliked = query.liked, query.disliked
            except Exception as error:  # the page goes on without the interest features
                logger.exception("embedding the interests of %s failed", user_id)
                reasons.append(f"stated interests could not be read ({type(error).__name__})")
        now = given.time if given.time is not None else self.clock.now()
        return replace(given, time=now, liked=liked, disliked=disliked)

    def _seen(
        self,
        user_id: str,
        events: Sequence[StoredEvent],
        weights: Sequence[float],
        policy: EventPolicy,
        declared: HomepageSettings,
        longer: bool,
        reasons: list[str],
    ) -> AbstractSet[str]:
        """Items the user had a non-zero-weight event on, of a type not declared re-showable,
        outside the re-showable categories: from the events read when they are all the user
        has, else from the whole log (the models read the latest events; seen means ever)."""
        reshown = set(declared.reshow_types)
        seen: set[str] | None = None
        if longer:  # the whole log holds the latest events' items too
            types = [kind for kind in policy.types if policy.weight(kind) != 0.0 and kind not in reshown]
            try:
                seen = self.store.logs.seen_items(user_id, types)
            except Exception as error:  # the page goes on with the latest events' items
                logger.exception("reading the seen items of %s failed", user_id)
                reasons.append(
                    f"items seen before the latest events could not be read ({type(error).__name__})"
                )
        if seen is None:
            seen = {
                event.item_id
                for event, weight in zip(events, weights, strict=True)
                if weight != 0.0 and event.type not in reshown
            }
        if declared.reshow_categories:
            again = set(declared.reshow_categories)
            seen = {item_id for item_id in seen if self._category(item_id) not in again}
        return seen

    def _ignored_items(self, user_id: str, declared: HomepageSettings, reasons: list[str]) -> set[str]:
        """Items shown to the user ``ignore_after`` times lately without any event on them;
        cached per user for IGNORED_TTL seconds (impressions are written in the background)."""

        def load(user: str) -> set[str]:
            since = time.time() - declared.ignore_days * 86_400
            return self.store.logs.ignored_items(user, declared.ignore_after, since)

        try:
            return self._ignored.get(user_id, load)
        except Exception as error:
            logger.exception("reading impressions failed for %s", user_id)
            reasons.append(f"ignored items could not be read ({type(error).__name__})")
            return set()

    def _disliked(self, user_id: str, interests: str | None, reasons: list[str]) -> AbstractSet[str]:
        """Items about what the user said they do not want (a set shared between requests:
        read, never changed)."""
        if self.semantic is None or not interests:
            return frozenset()
        try:
            return self.semantic.avoided(interests)
        except Exception as error:
            logger.exception("reading disliked interests failed for %s", user_id)
            reasons.append(f"stated dislikes could not be applied ({type(error).__name__})")
            return frozenset()

    def _profile(self, user_id: str, served: ServedVersion | None) -> UserProfile | None:
        """The user's profile, cached for PROFILE_TTL seconds (the users route forgets a user it
        writes, so an API change shows at once). Read only when a source uses it: stated
        interests (text) or profiles (the profile model, the ranker's features)."""
        if self.semantic is None and (served is None or not served.reads_profiles):
            return None
        try:
            return self._profiles.get(user_id, self.store.get_user)
        except Exception:  # the page does without the profile rather than failing
            logger.exception("reading the profile of %s failed", user_id)
            return None


def progress_of(
    events: Sequence[StoredEvent], declared: HomepageSettings
) -> tuple[frozenset[str], tuple[str, ...]]:
    """The items the events complete (a completion type, or a progress value of 1 or more),
    and those started and not completed, latest first."""
    finishing, advancing = set(declared.completion_types), set(declared.progress_types)
    if not finishing and not advancing:
        return frozenset(), ()
    completed: set[str] = set()
    started: dict[str, None] = {}
    for event in reversed(events):  # latest first
        if event.type in finishing or (event.type in advancing and (event.value or 0.0) >= 1.0):
            completed.add(event.item_id)
        elif event.type in advancing:
            started.setdefault(event.item_id, None)
    return frozenset(completed), tuple(item_id for item_id in started if item_id not in completed)


def _history(
    events: Sequence[StoredEvent], weights: Sequence[float], index_of: Callable[[str], int | None]
) -> History:
    """The user's weighted events mapped onto the version's item indices."""
    pairs = [(index_of(e.item_id), w) for e, w in zip(events, weights, strict=True) if w != 0.0]
    known = [(index, weight) for index, weight in pairs if index is not None]
    return History(
        np.array([index for index, _ in known], dtype=np.int64),
        np.array([weight for _, weight in known], dtype=np.float32),
    )
