"""What every candidate source shares: the protocol, the services sources read across requests,
and helpers that rank the best servable items.

A source is one small object with a ``name``, the ``row`` its items are shown in, and one
method: ``fetch(query, ask)`` returns a :class:`Proposal`. Sources read the frozen query and
write nothing; they pass over items the user may not be shown (seen, excluded, disliked,
ignored, inactive, outside the category), so the page's single filter pass is the guarantee,
not the mechanism. What other sources proposed they do not know: the page asks each for
``ask.spare`` more items than it wants and takes what earlier sources did not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from homefeed.config import Settings
from homefeed.homepage.candidates import Ask, Proposal, Ranked, because
from homefeed.homepage.page import Explanation
from homefeed.homepage.query import PageQuery, UnknownItems
from homefeed.homepage.sections import Row
from homefeed.homepage.semantic import SemanticSources
from homefeed.live.aggregates import LiveStats
from homefeed.live.catalog import Catalog
from homefeed.models.base import Recommender, best

NEW_ITEMS = "new-items"  # the source that ranks items no model has interactions for


class CandidateSource(Protocol):
    """Proposes items for one request."""

    name: str
    row: Row

    def fetch(self, query: PageQuery, ask: Ask) -> Proposal: ...


@dataclass
class PageServices:
    """What sources read across requests: the settings of the page they build (an A/B arm's),
    the catalog in memory, the live aggregates of the logs and the text index."""

    settings: Settings
    catalog: Catalog
    live: LiveStats
    semantic: SemanticSources | None
    unknown: UnknownItems  # catalog items no model of a version knows

    def title(self, item_id: str) -> str:
        entry = self.catalog.get(item_id)
        return entry.title if entry is not None else item_id

    def fits(self, item_id: str, query: PageQuery) -> bool:
        """Active, in the requested category and price range if there are ones, and (as the
        filters declare) in stock, unlocked by the user's completed items and recent enough."""
        entry = self.catalog.get(item_id)
        if entry is None or not entry.active:
            return False
        required = entry.traits.prerequisites if entry.traits is not None else ()
        if required and self._declared("prerequisites") and not all(i in query.completed for i in required):
            return False
        if query.category is not None and entry.category != query.category:
            return False
        if not entry.available and self._declared("unavailable"):
            return False
        if query.price is not None and self._declared("price") and not query.price.contains(entry.price):
            return False
        published, oldest = entry.published_at, query.oldest
        return oldest is None or published is None or published >= oldest

    def _declared(self, filter_name: str) -> bool:
        return filter_name in self.settings.homepage.filters  # read only for items it concerns

    def servable(self, item_id: str, query: PageQuery) -> bool:
        """May be shown to this user: fits the request and is not withheld from them."""
        return not query.withholds(item_id) and self.fits(item_id, query)

    def maps_new_items(self, query: PageQuery) -> bool:
        """Whether the new-items source is declared and ranks the served version's new items."""
        version = query.version
        return (
            NEW_ITEMS in self.settings.homepage.sources
            and version is not None
            and version.new_vectors is not None
        )

    def because_you_liked(self, item_id: str | None) -> Explanation:
        """ "Because you liked X", naming the user's liked item; a generic reason without one."""
        if item_id is None or self.catalog.get(item_id) is None:
            return Explanation("history", "Picked for your tastes")
        return Explanation("history", f"Because you liked {self.title(item_id)}", (item_id,))


def first_servable(
    services: PageServices,
    query: PageQuery,
    ranked: Iterable[tuple[str, float]],
    size: int,
    source: str,
    why: Explanation,
) -> Ranked | None:
    """The first ``size`` servable items of an (item, score) ranking, read lazily."""
    item_ids: list[str] = []
    scores: list[float] = []
    if size <= 0:
        return None
    for item_id, score in ranked:
        if services.servable(item_id, query):
            item_ids.append(item_id)
            scores.append(float(score))
            if len(item_ids) >= size:
                break
    return Ranked(source, item_ids, np.array(scores, dtype=np.float64), because(why))


def top(
    model: Recommender, scores: np.ndarray, allowed: np.ndarray, size: int, source: str, why: Explanation
) -> Ranked:
    """The ``size`` best allowed items of ``model`` by ``scores``, as ``source``'s list."""
    indices, values = best(scores, allowed, size)
    item_ids = model.item_ids
    return Ranked(source, [item_ids[index] for index in indices.tolist()], values, because(why), indices)


def nothing(ask: Ask) -> bool:
    """Whether the page wants nothing of a source."""
    return ask.quota <= 0
