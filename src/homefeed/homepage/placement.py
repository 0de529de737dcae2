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
EXPLORING_NEW = Explanation("exploration", "New here: see if it is for you")
EXPLORING = Explanation("exploration", "Something different: see if it is for you")
PRIOR_ACTED, PRIOR_IGNORED = 1.0, 9.0  # Beta prior of the exploration bandit: one in ten


def explore(
    request: PageRequest,
    chosen: list[Candidate],
    n: int,
    declared: HomepageSettings,
    services: Services,
    new: set[str],
) -> list[Candidate]:
    """Give ``exploration_slots`` of the page to items the ranked sources would not show.

    Candidates are the newest servable items plus as many drawn at random from the catalog
    (where the under-exposed long tail is), preferring items no model knows (``new``). With
    the ``thompson`` policy each candidate's rate of responses per impression (users who had a
    positive event on it within a day of being shown it) is drawn
    from its Beta posterior (prior: one in ten) and the highest draws win, so items never
    shown are tried and items shown often without response fade; ``uniform`` is ε-greedy.
    Draws are seeded by the request id, so a page can be rebuilt exactly."""
    if declared.exploration_slots == 0 or n < declared.exploration_first_slot:
        return chosen
    kept = chosen[: n - declared.exploration_slots]
    seed = int(uuid.uuid5(uuid.NAMESPACE_OID, request.page.request_id).int % 2**63)
    rng = np.random.default_rng(seed)
    pool = _exploration_pool(request, chosen, kept, declared, services, rng, new)
    pool = [item_id for item_id in pool if item_id in new] or pool  # only exploring finds new ones
    if not pool:
        return chosen
    size = min(declared.exploration_slots, len(pool))
    if declared.exploration_policy == "thompson":
        exposure = services.live.exposure()
        counts = np.array([exposure.get(item_id, (0, 0)) for item_id in pool], dtype=np.float64)
        acted = np.minimum(counts[:, 1], counts[:, 0])
        draws = rng.beta(PRIOR_ACTED + acted, PRIOR_IGNORED + counts[:, 0] - acted)
        picks = np.argsort(-draws, kind="stable")[:size]
    else:
        picks = rng.choice(len(pool), size=size, replace=False)
    page = list(kept)
    step = max(n // declared.exploration_slots, 1)
    for number, pick in enumerate(sorted(picks.tolist())):
        slot = declared.exploration_first_slot - 1 + number * step
        why = EXPLORING_NEW if pool[pick] in new else EXPLORING
        page.insert(min(slot, len(page)), Candidate(pool[pick], 0.0, "explore", why))
    return page[:n]


def _exploration_pool(
    request: PageRequest,
    chosen: list[Candidate],
    kept: list[Candidate],
    declared: HomepageSettings,
    services: Services,
    rng: np.random.Generator,
    new: set[str],
) -> list[str]:
    """Servable items not on the page and not over the category cap: the newest
    ``exploration_pool`` and up to as many drawn at random from the active catalog. Items no
    model knows come only from the newest: drawn at random they would win every page's slot,
    relevant or not (the text sources place them by relevance)."""
    on_page = {candidate.item_id for candidate in chosen}
    full: set[str | None] = set()
    if declared.max_per_category is not None:
        counts = Counter(category_of(candidate.item_id, services.catalog) for candidate in kept)
        full = {category for category, count in counts.items() if count >= declared.max_per_category}
    full.discard(None)

    def eligible(item_id: str) -> bool:
        return (
            item_id not in on_page
            and category_of(item_id, services.catalog) not in full
            and services.servable(item_id, request)
        )

    newest = services.catalog.newest()
    pool: list[str] = []
    for item_id in newest:
        if eligible(item_id):
            pool.append(item_id)
            if len(pool) >= declared.exploration_pool:
                break
    picked = set(pool)
    draws = rng.integers(0, len(newest), size=declared.exploration_pool if newest else 0)
    for position in draws:
        item_id = newest[int(position)]
        if item_id not in picked and item_id not in new and eligible(item_id):
            pool.append(item_id)
            picked.add(item_id)
    return pool


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
