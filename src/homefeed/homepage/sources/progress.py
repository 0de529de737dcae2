"""Rows that pick up where the user left off: the next episode of each series they watch, and
the courses they started and have not finished. Both lead the page (``Row.leads``)."""

from __future__ import annotations

import numpy as np

from homefeed.homepage.candidates import Ask, Proposal, Ranked, proposing
from homefeed.homepage.page import Explanation
from homefeed.homepage.query import PageQuery
from homefeed.homepage.sections import Row
from homefeed.homepage.sources.base import PageServices, nothing


class ContinueSeriesSource:
    """For each series the user liked an episode of (latest first), its next episode: the
    first, in the series' order, after the furthest one they liked and that they may be shown."""

    name = "continue-series"
    row = Row("titled", "Continue watching", leads=True)

    def __init__(self, services: PageServices) -> None:
        self.services = services

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        ask = ask.within(self.services.settings.homepage.lead_row_max)
        if nothing(ask):
            return Proposal()
        catalog = self.services.catalog
        furthest: dict[str, tuple[float, str]] = {}  # series -> (episode order, the liked episode)
        for event, weight in zip(reversed(query.events), reversed(query.weights), strict=True):
            entry = catalog.get(event.item_id)
            if weight <= 0 or entry is None or entry.traits is None or entry.traits.series is None:
                continue
            series, order = entry.traits.series, entry.traits.episode
            if series not in furthest or order > furthest[series][0]:
                furthest[series] = (order, event.item_id)  # dicts keep the latest-watched series first
        explanations: dict[str, Explanation] = {}
        for series, (order, watched) in furthest.items():
            following = next(
                (
                    item_id
                    for episode, item_id in catalog.episodes(series)
                    if episode > order and self.services.servable(item_id, query)
                ),
                None,
            )
            if following is not None:
                text = f"Next in {series}, after {self.services.title(watched)}"
                explanations[following] = Explanation("series", text, (watched,))
            if len(explanations) >= ask.size:
                break
        return proposing(_ranked(self.name, explanations), ask)


class ContinueLearningSource:
    """The items the user started and has not completed (``progress_types`` without
    ``completion_types``), latest first: other sources pass over them."""

    name = "continue-learning"
    row = Row("titled", "Continue learning", leads=True)

    def __init__(self, services: PageServices) -> None:
        self.services = services

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal:
        ask = ask.within(self.services.settings.homepage.lead_row_max)
        if nothing(ask):
            return Proposal()
        explanations: dict[str, Explanation] = {}
        for item_id in query.resumable:
            if (
                item_id in query.excluded
                or item_id in query.disliked
                or not self.services.fits(item_id, query)
            ):
                continue
            explanations[item_id] = Explanation("progress", "You started this", (item_id,))
            if len(explanations) >= ask.size:
                break
        return proposing(_ranked(self.name, explanations), ask)


def _ranked(source: str, explanations: dict[str, Explanation]) -> Ranked | None:
    """The items in their order, each with its own explanation (scores fall by position)."""
    if not explanations:
        return None
    item_ids = list(explanations)
    scores = np.linspace(1.0, 0.5, num=len(item_ids))
    return Ranked(source, item_ids, scores, lambda ids, _keys: [explanations[item_id] for item_id in ids])
