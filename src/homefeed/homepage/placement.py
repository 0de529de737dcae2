"""Slots the composer does not rank: exploration of new items, and promotions."""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable

import numpy as np

from homefeed.config import HomepageSettings
from homefeed.domain import Promotion
from homefeed.homepage.composer import category_of
from homefeed.homepage.page import Candidate, Explanation
from homefeed.homepage.request import PageRequest
from homefeed.homepage.sources import Services
from homefeed.store import Store

logger = logging.getLogger(__name__)
PROMOTIONS_TTL = 10.0  # seconds: how stale another worker's promotions may be
EXPLORING = Explanation("exploration", "New here: see if it is for you")


def explore(
    request: PageRequest,
    chosen: list[Candidate],
    n: int,
    declared: HomepageSettings,
    services: Services,
    new: set[str],
) -> list[Candidate]:
    """ε-greedy exploration with a fixed share: ``exploration_slots`` of the page go to new
    items the user has not seen, drawn at random (seeded by the request id, so the page
    can be reproduced) among the newest servable items, preferring items no model knows
    (``new``); the category cap applies to them too."""
    if declared.exploration_slots == 0 or n < declared.exploration_first_slot:
        return chosen
    catalog = services.catalog
    on_page = {candidate.item_id for candidate in chosen}
    kept = chosen[: n - declared.exploration_slots]
    full: set[str | None] = set()
    if declared.max_per_category is not None:
        counts = Counter(category_of(candidate.item_id, catalog) for candidate in kept)
        full = {category for category, count in counts.items() if count >= declared.max_per_category}
    full.discard(None)
    pool: list[str] = []
    for item_id in catalog.newest():
        if item_id in on_page or category_of(item_id, catalog) in full:
            continue
        if services.servable(item_id, request):
            pool.append(item_id)
            if len(pool) >= declared.exploration_pool:
                break
    pool = [item_id for item_id in pool if item_id in new] or pool  # only exploring finds new ones
    if not pool:
        return chosen
    seed = int(uuid.uuid5(uuid.NAMESPACE_OID, request.page.request_id).int % 2**63)
    picks = np.random.default_rng(seed).choice(
        len(pool), size=min(declared.exploration_slots, len(pool)), replace=False
    )
    page = list(kept)
    step = max(n // declared.exploration_slots, 1)
    for number, pick in enumerate(sorted(picks.tolist())):
        slot = declared.exploration_first_slot - 1 + number * step
        page.insert(min(slot, len(page)), Candidate(pool[pick], 0.0, "explore", EXPLORING))
    return page[:n]


class Promotions:
    """The promotions in the store, re-read every PROMOTIONS_TTL seconds (at once after a
    write through :meth:`load`), and placed on pages."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._loaded: tuple[float, list[Promotion]] = (-PROMOTIONS_TTL, [])

    def load(self) -> None:
        try:
            self._loaded = (time.monotonic(), self.store.list_promotions())
        except Exception:  # pages go on without promotions rather than failing
            logger.exception("reading promotions failed")

    def place(
        self,
        request: PageRequest,
        chosen: list[Candidate],
        n: int,
        fits: Callable[[str, PageRequest], bool],
    ) -> list[Candidate]:
        """Put each active promotion's item at its slot, when it may be shown to this user
        (``fits`` the request and not withheld from this user)."""
        if time.monotonic() - self._loaded[0] > PROMOTIONS_TTL:
            self.load()
        now = time.time()
        page = list(chosen)
        for promotion in self._loaded[1]:
            item_id = promotion.item_id
            if not promotion.active(now) or request.is_withheld(item_id) or not fits(item_id, request):
                continue
            page = [candidate for candidate in page if candidate.item_id != item_id]
            why = Explanation("promoted", promotion.label, (promotion.id,))
            page.insert(min(promotion.position - 1, len(page)), Candidate(item_id, 0.0, "promoted", why))
        return page[:n]
