"""Sources that need nothing of the user: popular, trending and fresh items."""

from __future__ import annotations

import numpy as np

from homefeed.homepage.page import Candidate, Explanation
from homefeed.homepage.request import PageRequest
from homefeed.homepage.sources.base import Services, first_servable, top


class PopularSource:
    """The most popular items: the trained (time-decayed) popularity model, or live counts
    from the database before any model is trained."""

    name = "popular"
    explanation = Explanation("popularity", "Popular right now")

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        if quota <= 0:
            return []
        model = request.bundle.get("popularity") if request.bundle is not None else None
        if model is None or request.allowed is None:
            return self._live(request, quota)
        scores = model.score_history(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        return top(model, scores, request.allowed, quota, self.name, self.explanation)

    def _live(self, request: PageRequest, quota: int) -> list[Candidate]:
        ranked = self.services.live.popular()
        return first_servable(self.services, request, ranked, quota, self.name, self.explanation)


class TrendingSource:
    """What many people acted on in the last days, newest activity counting most (the live
    log, time-decayed): ``homepage.trending_share`` of the page."""

    name = "trending"
    explanation = Explanation("trending", "Trending now")

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        quota = min(quota, round(request.n * self.services.settings.homepage.trending_share))
        if quota <= 0:
            return []
        ranked = self.services.live.trending()
        return first_servable(self.services, request, ranked, quota, self.name, self.explanation)


class FreshSource:
    """Newest items first: the last resort, and the way in for items newer than the model."""

    name = "fresh"
    explanation = Explanation("fresh", "New in the catalog")

    def __init__(self, services: Services) -> None:
        self.services = services

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]:
        newest = ((item_id, 0.0) for item_id in self.services.catalog.newest())
        return first_servable(self.services, request, newest, quota, self.name, self.explanation)
