"""The page's rows: which section each item is shown in, and its title.

Every source declares its row (:class:`Row`): a fixed title, the title its explanation gives
("Often chosen with Alien and Heat"), a "Because you liked X" row for the item it follows, or
the personal rows, where three or more picks resting on one liked item form "Because you liked
X" and the rest "Top picks for you". Rows come in the order of their first item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from homefeed.homepage.page import Candidate, HomepageItem, Section
from homefeed.live.catalog import Catalog

SECTION_MIN = 3  # personal items sharing one anchor get their own "Because you liked X" row
RowKind = Literal["titled", "explained", "because", "personal"]


@dataclass(frozen=True)
class Row:
    """How a source's items are put in rows: ``titled`` (one row named ``title``),
    ``explained`` (one row titled by the explanation), ``because`` (a row per liked item they
    follow), ``personal`` (rows of the personal picks)."""

    kind: RowKind
    title: str = ""
    leads: bool = False  # its items go before every other source's (continue watching, breaking news)

    def titled(self, title: str | None) -> Row:
        """This row under another title (``homepage.row_titles``); as is without one."""
        return self if not title else Row(self.kind, title, self.leads)


PERSONAL = Row("personal", "Top picks for you")


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
        image=entry.image if entry else None,
        creator=entry.creator if entry else None,
        published_at=entry.published_at if entry else None,
        price=entry.price if entry else None,
    )


def titled_rows(rows: Mapping[str, Row], titles: Mapping[str, str]) -> dict[str, Row]:
    """``rows`` with the titles the settings give (``personal`` names the personal row)."""
    return {name: row.titled(titles.get(name)) for name, row in {**rows, "personal": PERSONAL}.items()}


def sections(items: Sequence[HomepageItem], rows: Mapping[str, Row], catalog: Catalog) -> list[Section]:
    """Rows in order of first appearance; ``rows`` maps each item's source to its row (a source
    not listed, such as a personal model, gets the personal row under ``rows["personal"]``)."""
    personal = rows.get("personal", PERSONAL)
    anchors = Counter(
        item.explanation.evidence[0]
        for item in items
        if item.explanation.type == "history"
        and item.explanation.evidence
        and rows.get(item.source, personal).kind == "personal"
    )
    found: dict[str, tuple[str, list[HomepageItem]]] = {}
    for item in items:
        key, title = _row(item, rows.get(item.source, personal), anchors, catalog)
        found.setdefault(key, (title, []))[1].append(item)
    return [Section(key, title, tuple(members)) for key, (title, members) in found.items()]


def _row(item: HomepageItem, row: Row, anchors: Counter[str], catalog: Catalog) -> tuple[str, str]:
    evidence = item.explanation.evidence
    if row.kind == "personal":
        if evidence and anchors[evidence[0]] >= SECTION_MIN:
            entry = catalog.get(evidence[0])
            return f"because:{evidence[0]}", f"Because you liked {entry.title if entry else evidence[0]}"
        return "top-picks", row.title
    if row.kind == "explained":
        return item.source, item.explanation.text
    if row.kind == "because" and evidence:
        return f"because:{evidence[0]}", item.explanation.text
    return item.source, row.title
