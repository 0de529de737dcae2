"""Sources that need nothing of the user: popular, trending and fresh items."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

import numpy as np

from homefeed.homepage.candidates import Ask, Proposal, proposing
from homefeed.homepage.page import Explanation
from homefeed.homepage.query import PageQuery, tuned
from homefeed.homepage.sections import Row
from homefeed.homepage.sources.base import PageServices, first_servable, nothing, top


class PopularSource:
    """The most popular items: the trained (time-decayed) popularity model, or live counts
    from the database before any model is trained."""

    name = "popular"
    row = Row("titled", "Popular right now")
    explanation = Explanation("popularity", "Popular right now")

    def __init__(self, services: PageServices) -> None:
        self.services = services

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        if nothing(ask):
            return Proposal()
        version = query.version
        model = version.bundle.get("popularity") if version is not None else None
        if model is None or query.allowed is None:
            ranked = self.services.live.popular()
            return proposing(
                first_servable(self.services, query, ranked, ask.size, self.name, self.explanation), ask
            )
        scores = model.score_history(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        return proposing(top(model, scores, query.allowed, ask.size, self.name, self.explanation), ask)


class TrendingSource:
    """What many people acted on in the last days, newest activity counting most (the live
    log, time-decayed): ``homepage.trending_share`` of the page, or the share ``homefeed train
    --tune`` chose with the served version when the settings do not name one."""

    name = "trending"
    row = Row("titled", "Trending now")
    explanation = Explanation("trending", "Trending now")

    def __init__(self, services: PageServices) -> None:
        self.services = services

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        share = tuned(query.version, self.services.settings.homepage, "trending_share")
        ask = ask.within(round(query.n * share))
        if nothing(ask):
            return Proposal()
        ranked = self.services.live.trending()
        return proposing(
            first_servable(self.services, query, ranked, ask.size, self.name, self.explanation), ask
        )


class FreshSource:
    """Newest items first: the last resort, and the way in for items newer than the model."""

    name = "fresh"
    row = Row("titled", "New in the catalog")
    explanation = Explanation("fresh", "New in the catalog")

    def __init__(self, services: PageServices) -> None:
        self.services = services

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        newest = ((item_id, 0.0) for item_id in self.services.catalog.newest())
        return proposing(
            first_servable(self.services, query, newest, ask.size, self.name, self.explanation), ask
        )


class BreakingSource:
    """The breaking-news slot: one item published within ``breaking_hours``, the newest one
    the newsroom flagged ``{"breaking": true}`` first, else the fresh one most people act on
    (the trending counts). Nothing when no story is that fresh."""

    name = "breaking"
    row = Row("titled", "Breaking news", leads=True)
    explanation = Explanation("breaking", "Breaking news")

    def __init__(self, services: PageServices) -> None:
        self.services = services

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        ask = ask.within(1)
        now = query.context.time
        if nothing(ask) or now is None:
            return Proposal()
        catalog = self.services.catalog
        since = now - self.services.settings.homepage.breaking_hours * 3600

        def fresh(item_id: str) -> bool:
            entry = catalog.get(item_id)
            return entry is not None and entry.published_at is not None and since <= entry.published_at <= now

        flagged = ((item_id, 1.0) for item_id in self._flagged_since(since, now))
        read = ((item_id, 0.0) for item_id, _score in self.services.live.trending() if fresh(item_id))
        ranked = chain(flagged, read)
        return proposing(
            first_servable(self.services, query, ranked, ask.size, self.name, self.explanation), ask
        )

    def _flagged_since(self, since: float, now: float) -> Iterator[str]:
        """Flagged items published in [since, now], newest first (reads no older item)."""
        catalog = self.services.catalog
        for item_id in catalog.newest():
            entry = catalog.get(item_id)
            if entry is None or entry.published_at is None or entry.published_at < since:
                return  # newest first: the rest are older, or undated
            if entry.published_at <= now and entry.traits is not None and entry.traits.breaking:
                yield item_id
