"""Lists beside the homepage: the popular list and items similar to one item."""

from __future__ import annotations

import uuid

from homefeed.homepage.candidates import Ask, take
from homefeed.homepage.page import Candidate, Explanation, Homepage
from homefeed.homepage.query import PageQuery, ServedVersion
from homefeed.homepage.sections import to_item
from homefeed.homepage.sources import PageServices, PopularSource


def _empty(served: ServedVersion | None) -> Homepage:
    version = served.version if served is not None else None
    return Homepage(request_id=uuid.uuid4().hex, user_id="", model_version=version)


def popular_list(
    served: ServedVersion | None, services: PageServices, n: int, category: str | None = None
) -> Homepage:
    """The most popular servable items (optionally of one category)."""
    page = _empty(served)
    allowed = None
    if served is None:
        page.degrade("no trained model yet: serving live popularity")
    else:
        allowed = served.masks.servable().copy()
        if category is not None:
            allowed &= served.masks.category(category)
    query = PageQuery(page.request_id, "", n, category, version=served, allowed=allowed)
    found = take(PopularSource(services).fetch(query, Ask(n)), (), explain=False)
    page.items = [to_item(candidate, services.catalog) for candidate in found]
    return page


def similar_list(
    served: ServedVersion | None, services: PageServices, item_id: str, n: int, by: str = "auto"
) -> Homepage:
    """Items closest to ``item_id``: by behaviour (ALS item vectors) or by text (language
    model); ``auto`` uses behaviour when the model knows the item, else text, else the
    popular items of its category."""
    page = _empty(served)
    catalog = services.catalog
    als = served.bundle.get("als") if served is not None else None
    entry = catalog.get(item_id)
    title = entry.title if entry is not None else item_id
    known = served is not None and als is not None and als.item_index(item_id) is not None
    if by in ("auto", "behaviour") and known and served is not None and als is not None:
        servable = served.masks.servable()
        why = Explanation("similar", f"Often liked together with {title}", (item_id,))
        for other, score in als.similar_items(item_id, n + 50):
            index = als.item_index(other)
            if index is not None and servable[index]:
                page.items.append(to_item(Candidate(other, score, "als", why), catalog))
            if len(page.items) >= n:
                break
        return page
    semantic = services.semantic
    if by in ("auto", "text") and semantic is not None:

        def active(other: str) -> bool:
            found = catalog.get(other)
            return found is not None and found.active

        hits = semantic.space.similar(item_id, n, active)
        if hits:
            why = Explanation("similar", f"Similar to {title}", (item_id,))
            page.items = [to_item(Candidate(h.item_id, h.score, "text", why), catalog) for h in hits]
            return page
    missing = {"behaviour": "no collaborative vector", "text": "no text vector"}.get(
        by, "no collaborative or text vector"
    )
    page.degrade(f"{missing} for this item yet: serving popular items of its category")
    fallback = popular_list(served, services, n + 1, entry.category if entry is not None else None)
    page.items = [item for item in fallback.items if item.item_id != item_id][:n]
    return page
