"""Lists beside the homepage: the popular list and items similar to one item."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from homefeed.homepage import composer
from homefeed.homepage.page import Candidate, Explanation, Homepage
from homefeed.homepage.request import PageRequest
from homefeed.homepage.sources import PopularSource
from homefeed.models.als import AlsRecommender

if TYPE_CHECKING:
    from homefeed.homepage.pipeline import HomepagePipeline


def _empty(pipeline: HomepagePipeline) -> Homepage:
    return Homepage(request_id=uuid.uuid4().hex, user_id="", model_version=pipeline.model_version)


def popular(pipeline: HomepagePipeline, n: int, category: str | None = None) -> Homepage:
    """The most popular servable items (optionally of one category)."""
    page = _empty(pipeline)
    bundle, masks = pipeline.bundle, pipeline.masks
    request = PageRequest("", n, category, [], [], None, None, set(), frozenset(), set(), page)
    if bundle is None or masks is None:
        page.degrade("no trained model yet: serving live popularity")
    else:
        allowed = masks.servable().copy()
        if category is not None:
            allowed &= masks.category(category)
        request.bundle, request.masks, request.allowed = bundle, masks, allowed
    found = PopularSource(pipeline.services).fetch(request, n)
    page.items = [composer.to_item(candidate, pipeline.catalog) for candidate in found]
    return page


def similar(pipeline: HomepagePipeline, item_id: str, n: int, by: str = "auto") -> Homepage:
    """Items closest to ``item_id``: by behaviour (ALS item vectors) or by text (language
    model); ``auto`` uses behaviour when the model knows the item, else text, else the
    popular items of its category."""
    page = _empty(pipeline)
    bundle, masks, catalog = pipeline.bundle, pipeline.masks, pipeline.catalog
    als = bundle.get("als") if bundle is not None else None
    entry = catalog.get(item_id)
    title = entry.title if entry is not None else item_id
    known = isinstance(als, AlsRecommender) and als.item_index(item_id) is not None
    if by in ("auto", "behaviour") and known and masks is not None:
        assert isinstance(als, AlsRecommender)
        servable = masks.servable()
        why = Explanation("similar", f"Often liked together with {title}", (item_id,))
        for other, score in als.similar_items(item_id, n + 50):
            index = als.item_index(other)
            if index is not None and servable[index]:
                page.items.append(composer.to_item(Candidate(other, score, "als", why), catalog))
            if len(page.items) >= n:
                break
        return page
    if by in ("auto", "text") and pipeline.semantic is not None:

        def active(other: str) -> bool:
            found = catalog.get(other)
            return found is not None and found.active

        hits = pipeline.semantic.space.similar(item_id, n, active)
        if hits:
            why = Explanation("similar", f"Similar to {title}", (item_id,))
            page.items = [composer.to_item(Candidate(h.item_id, h.score, "text", why), catalog) for h in hits]
            return page
    missing = {"behaviour": "no collaborative vector", "text": "no text vector"}.get(
        by, "no collaborative or text vector"
    )
    page.degrade(f"{missing} for this item yet: serving popular items of its category")
    fallback = popular(pipeline, n + 1, entry.category if entry is not None else None)
    page.items = [item for item in fallback.items if item.item_id != item_id][:n]
    return page
