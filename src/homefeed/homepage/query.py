"""What one homepage request is about, read once before any stage runs and frozen: the user,
their recent history as the served version weighs it, what may not be shown to them, the
request's context, and the version the page is built from."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from pydantic import BaseModel

from homefeed.domain import UserProfile
from homefeed.events import EventPolicy
from homefeed.live.catalog import Catalog, VocabularyMasks
from homefeed.live.new_items import NewItemVectors
from homefeed.models.base import Recommender, UserQuery
from homefeed.models.context import RequestContext
from homefeed.store import StoredEvent
from homefeed.training.versions import ModelBundle
from homefeed.vectors import Exclusion, VectorIndex


@dataclass(frozen=True, eq=False)
class History:
    """The user's positively and negatively weighted events on the version's item indices."""

    items: np.ndarray  # oldest first
    weights: np.ndarray

    @property
    def liked(self) -> np.ndarray:
        liked: np.ndarray = self.items[self.weights > 0]
        return liked


class UnknownItems:
    """Catalog items no model of a version knows: text is the only way anything finds them
    yet. Recomputed when the catalog or the version changes (pages read it on every request)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._cached: tuple[tuple[int, str | None], frozenset[str]] | None = None
        self._lock = threading.Lock()

    def of(self, bundle: ModelBundle | None) -> frozenset[str]:
        key = (self.catalog.revision, bundle.version if bundle is not None else None)
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1]
        models = list(bundle.models.values()) if bundle is not None else []
        unknown = frozenset(
            item_id
            for item_id in self.catalog.ids()
            if all(model.item_index(item_id) is None for model in models)
        )
        with self._lock:
            self._cached = (key, unknown)
        return unknown


@dataclass(frozen=True, eq=False)
class ServedVersion:
    """A trained version as pages read it: its models, masks over its item vocabulary, vector
    indexes of the personal models, new items placed in its behaviour space, and the event
    weights it was trained with. Swapped whole when a newer version is loaded."""

    bundle: ModelBundle
    masks: VocabularyMasks
    events: EventPolicy
    indexes: Mapping[str, VectorIndex] = field(default_factory=dict)  # slots = the model's item indices
    new_vectors: NewItemVectors | None = None
    personal: tuple[str, ...] = ()  # the models backing the personal row, in the order tried
    page: Mapping[str, float] = field(default_factory=dict)  # homepage settings tuned with the version
    blend: int = 1  # the personal row fuses its first this-many models (chosen on validation)

    @property
    def version(self) -> str:
        return self.bundle.version

    @cached_property
    def reads_profiles(self) -> bool:
        """Whether any model, or any part of one (the ranker's profile source), reads profiles."""
        return any(model.reads_request for _, model in self.bundle.every_model())

    @property
    def vocabulary(self) -> Recommender:
        """The model whose item indices the page's masks and history use (all share them)."""
        return next(iter(self.bundle.models.values()))


@dataclass(frozen=True)
class PriceRange:
    """The prices a request allows (either end open)."""

    low: float | None = None
    high: float | None = None

    def contains(self, price: float | None) -> bool:
        return (
            price is not None
            and (self.low is None or price >= self.low)
            and (self.high is None or price <= self.high)
        )


@dataclass(frozen=True, eq=False)
class PageQuery:
    """Everything the stages may read about one request; none of them writes to it."""

    request_id: str
    user_id: str
    n: int
    category: str | None = None
    price: PriceRange | None = None  # the prices the request allows (none: any)
    oldest: float | None = None  # the earliest publication time shown (the stale filter's; none: any)
    excluded: AbstractSet[str] = frozenset()  # items the request asked not to show
    explain: bool = False  # attach scores, ranks and feature values to every item
    events: tuple[StoredEvent, ...] = ()  # the latest events, oldest first
    weights: tuple[float, ...] = ()  # each event's weight, as the served version weighs it
    profile: UserProfile | None = None
    interests: str | None = None  # stated interests, when the text index can read them
    seen: AbstractSet[str] = frozenset()  # items the user did anything with
    disliked: AbstractSet[str] = frozenset()  # items about something the user said they do not want
    ignored: AbstractSet[str] = frozenset()  # shown again and again, never acted on
    completed: AbstractSet[str] = frozenset()  # items finished (HomepageSettings.completion_types)
    resumable: tuple[str, ...] = ()  # started, not finished, latest first: only a continue row shows them
    context: RequestContext = field(default_factory=RequestContext)  # time, device, surface, interests
    version: ServedVersion | None = None
    allowed: np.ndarray | None = None  # over the version's items: servable, in category, not withheld
    history: History | None = None  # the events on the version's item indices

    @property
    def bundle(self) -> ModelBundle | None:
        return self.version.bundle if self.version is not None else None

    @cached_property
    def has_history(self) -> bool:
        """Whether any event says the user liked something (on any item, known or not)."""
        return any(weight > 0 for weight in self.weights)

    @cached_property
    def withheld(self) -> Exclusion:
        """Items no source but a continue row proposes: seen, excluded, disliked, ignored, or
        started and not finished (kept apart: the disliked items are shared between pages)."""
        return Exclusion(self.seen, self.excluded, self.disliked, self.ignored, self.resumable)

    def withholds(self, item_id: str) -> bool:
        return (
            item_id in self.seen
            or item_id in self.excluded
            or item_id in self.disliked
            or item_id in self.ignored
            or item_id in self.resumable
        )

    @cached_property
    def user(self) -> UserQuery:
        """The user as models are told about them."""
        assert self.history is not None, "no served version: models have nothing to score"
        return UserQuery(self.history.items, self.history.weights, self.profile, self.context)


def tuned(version: ServedVersion | None, declared: BaseModel, key: str) -> float:
    """A page setting as served: the operator's value when the settings name it, else the one
    chosen on validation pages with the served version (``homefeed train --tune``), else the
    default."""
    value = float(getattr(declared, key))
    if version is None or key in declared.model_fields_set:
        return value
    return float(version.page.get(key, value))
