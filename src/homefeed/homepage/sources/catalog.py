"""Sources that need nothing of the user: popular, trending and fresh items."""

from __future__ import annotations

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
