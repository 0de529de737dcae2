"""The composer: turns filtered candidates into the page and its sections.

Until the learning-to-rank model lands, the blend is a documented rule: the personal
source's order leads; language-model picks (text-near new items, stated interests) are
interleaved every fourth slot from the third, so the model's best picks stay on top and new
items are still seen; fill sources (profile, popular, fresh) complete the page in order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from homefeed.homepage.page import Candidate, HomepageItem, Section
from homefeed.homepage.request import PageRequest
from homefeed.serving.catalog import Catalog

FIRST_EXTRA, EXTRA_EVERY = 2, 4
SECTION_MIN = 3  # personal items sharing one anchor get their own "Because you liked X" row
SECTION_TITLES = {
    "promoted": "Featured",
    "explore": "Something new",
    "new-items": "New for you",
    "semantic-history": "More like what you liked",
    "interests": "From your interests",
    "popular": "Popular right now",
    "trending": "Trending now",
    "fresh": "New in the catalog",
}


def interleave(leading: Sequence[Candidate], extras: Sequence[Candidate], n: int) -> list[Candidate]:
    """``leading`` in order with ``extras`` at slots 3, 7, 11, ... (all first when ``leading``
    is empty), cut to ``n``."""
    merged = list(leading)
    position = FIRST_EXTRA
    for extra in extras:
        merged.insert(min(position, len(merged)), extra)
        position += EXTRA_EVERY if leading else 1
    return merged[:n]


def capped(
    candidates: Sequence[Candidate],
    cap: int | None,
    catalog: Catalog,
    request: PageRequest,
    placed: Sequence[Candidate] = (),
) -> list[Candidate]:
    """``candidates`` without those that would put more than ``cap`` items of one category
    on the page (counting ``placed``); the ones left out are released for later sources."""
    if cap is None:
        return list(candidates)
    counts = Counter(category_of(candidate.item_id, catalog) for candidate in placed)
    kept = []
    for candidate in candidates:
        category = category_of(candidate.item_id, catalog)
        if category is not None and counts[category] >= cap:
            request.release(candidate.item_id)
            continue
        counts[category] += 1
        kept.append(candidate)
    return kept


def category_of(item_id: str, catalog: Catalog) -> str | None:
    entry = catalog.get(item_id)
    return entry.category if entry is not None else None


def to_item(candidate: Candidate, catalog: Catalog) -> HomepageItem:
    entry = catalog.get(candidate.item_id)
    return HomepageItem(
        item_id=candidate.item_id,
        title=entry.title if entry else candidate.item_id,
        category=entry.category if entry else None,
        score=candidate.score,
        source=candidate.source,
        reason=candidate.explanation.text,
        explanation=candidate.explanation,
        details=candidate.details,
    )


def sections(items: Sequence[HomepageItem], catalog: Catalog) -> list[Section]:
    """Rows in order of first appearance. Personal picks that rest on the same liked item
    (at least SECTION_MIN of them) form "Because you liked X"; the rest "Top picks for you";
    every other source its own row, titled from its evidence."""
    anchors = Counter(
        item.explanation.evidence[0]
        for item in items
        if item.explanation.type == "history" and item.explanation.evidence and _personal(item)
    )
    rows: dict[str, tuple[str, list[HomepageItem]]] = {}
    for item in items:
        key, title = _row(item, anchors, catalog)
        rows.setdefault(key, (title, []))[1].append(item)
    return [Section(key, title, tuple(members)) for key, (title, members) in rows.items()]


def _personal(item: HomepageItem) -> bool:
    return item.source not in SECTION_TITLES and item.source not in ("profile", "item-to-item")


def _row(item: HomepageItem, anchors: Counter[str], catalog: Catalog) -> tuple[str, str]:
    evidence = item.explanation.evidence
    if _personal(item):
        if evidence and anchors[evidence[0]] >= SECTION_MIN:
            entry = catalog.get(evidence[0])
            return f"because:{evidence[0]}", f"Because you liked {entry.title if entry else evidence[0]}"
        return "top-picks", "Top picks for you"
    if item.source == "profile":
        return "profile", item.explanation.text
    if item.source == "item-to-item" and evidence:
        return f"because:{evidence[0]}", item.explanation.text
    return item.source, SECTION_TITLES[item.source]
