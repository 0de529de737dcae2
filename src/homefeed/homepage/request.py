"""Everything one homepage request knows, gathered once and read by every stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from homefeed.domain import UserProfile
from homefeed.homepage.page import Homepage
from homefeed.models.bundle import ModelBundle
from homefeed.models.context import RequestContext
from homefeed.serving.catalog import VocabularyMasks
from homefeed.store.store import StoredEvent


@dataclass
class History:
    """The user's positively and negatively weighted events on the model's item indices."""

    items: np.ndarray  # oldest first
    weights: np.ndarray

    @property
    def liked(self) -> np.ndarray:
        return self.items[self.weights > 0]


@dataclass
class PageRequest:
    user_id: str
    n: int
    category: str | None
    events: list[StoredEvent]
    event_weights: list[float]  # configured weight of each event, in event order
    profile: UserProfile | None
    interests: str | None
    seen: set[str]  # items the user did anything with
    excluded: frozenset[str]  # items the request asked not to show
    disliked: set[str]  # items about something the user said they do not want
    page: Homepage
    ignored: set[str] = field(default_factory=set)  # shown again and again, never acted on
    bundle: ModelBundle | None = None
    masks: VocabularyMasks | None = None
    allowed: np.ndarray | None = None  # over the model vocabulary: servable, in category, not blocked
    history: History | None = None
    index_of: Callable[[str], int | None] | None = None  # item id -> model vocabulary index
    explain: bool = False  # attach per-item source scores and ranker features
    taken: set[str] = field(default_factory=set)  # items already placed on the page
    notes: set[str] = field(default_factory=set)  # facts sources leave for later stages
    context: RequestContext = field(default_factory=RequestContext)  # time, device, surface, interests

    @property
    def has_history(self) -> bool:
        return any(weight > 0 for weight in self.event_weights)

    @property
    def blocked(self) -> set[str]:
        """Items no source may return: seen, excluded, disliked, ignored or already on the page
        (a new set: for one membership test use :meth:`is_blocked`)."""
        return self.seen | self.excluded | self.disliked | self.ignored | self.taken

    def is_withheld(self, item_id: str) -> bool:
        """Never for this user: seen, excluded, disliked or ignored."""
        return (
            item_id in self.seen
            or item_id in self.excluded
            or item_id in self.disliked
            or item_id in self.ignored
        )

    def is_blocked(self, item_id: str) -> bool:
        return item_id in self.taken or self.is_withheld(item_id)

    def take_all(self, item_ids: list[str]) -> None:
        """Mark items as placed, so later sources do not propose them again."""
        self.taken.update(item_ids)
        if self.allowed is not None and self.index_of is not None:
            index_of = self.index_of
            indices = [index for index in map(index_of, item_ids) if index is not None]
            self.allowed[indices] = False

    def release(self, item_id: str) -> None:
        """Undo :meth:`take_all` for a candidate that was proposed but not placed."""
        self.taken.discard(item_id)
        if self.allowed is not None and self.index_of is not None:
            index = self.index_of(item_id)
            if index is not None and not self.is_withheld(item_id):
                self.allowed[index] = True
