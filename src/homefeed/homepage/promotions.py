"""Promotions: items an operator pins to a slot for a time window (PUT /v1/admin/promotions)."""

from __future__ import annotations

import logging
import time

from homefeed.domain import Promotion
from homefeed.homepage.composition import Draft
from homefeed.homepage.page import Candidate, Explanation
from homefeed.homepage.query import PageQuery
from homefeed.homepage.sections import Row
from homefeed.homepage.sources import PageServices
from homefeed.store import Store

logger = logging.getLogger(__name__)
PROMOTIONS_TTL = 10.0  # seconds: how stale another worker's promotions may be
ROW = Row("titled", "Featured")


class Promotions:
    """The promotions in the store, re-read every PROMOTIONS_TTL seconds (at once after a
    write through :meth:`load`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._loaded: tuple[float, list[Promotion]] = (-PROMOTIONS_TTL, [])

    def load(self) -> None:
        try:
            self._loaded = (time.monotonic(), self.store.list_promotions())
        except Exception:  # pages go on without promotions rather than failing
            logger.exception("reading promotions failed")

    def current(self) -> list[Promotion]:
        if time.monotonic() - self._loaded[0] > PROMOTIONS_TTL:
            self.load()
        return self._loaded[1]


class Promote:
    """Each active promotion's item at its slot, when it may be shown to this user (it fits
    the request and is not withheld from the user)."""

    def __init__(self, promotions: Promotions, services: PageServices) -> None:
        self.promotions, self.services = promotions, services

    def apply(self, query: PageQuery, draft: Draft) -> Draft:
        now = time.time()
        page = list(draft.items)
        for promotion in self.promotions.current():
            item_id = promotion.item_id
            if not promotion.active(now) or not self.services.servable(item_id, query):
                continue
            page = [candidate for candidate in page if candidate.item_id != item_id]
            why = Explanation("promoted", promotion.label, (promotion.id,))
            details = {"score": 0.0, "position": float(promotion.position)} if query.explain else {}
            page.insert(
                min(promotion.position - 1, len(page)), Candidate(item_id, 0.0, "promoted", why, details)
            )
        return draft.evolve(items=tuple(page[: query.n]))
