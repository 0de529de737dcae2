"""The synthetic log dressed as one kind of site (``homefeed datasets synth --domain``), so
each preset has data of its kind: a shop's prices, stock and purchases; a newsroom's breaking
stories and reads; a video service's series and watch shares; a course platform's
prerequisites, enrolments and completions. The planted tastes are the generator's, unchanged:
only the items' attributes and the events' names and values change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

Rows = list[dict[str, Any]]
GROCERIES = "Groceries"  # the shop's repeat-purchase category (the ecommerce preset's)


def shop(items: Rows, events: Rows, rng: np.random.Generator) -> None:
    """Prices by topic, one item in twelve out of stock, the cooking topic sold as groceries;
    a click is a view, a like puts the item in the cart."""
    base: defaultdict[str, float] = defaultdict(lambda: float(rng.uniform(8, 120)))
    for item in items:
        topic = item["attributes"]["topic"]
        item["attributes"]["price"] = round(base[topic] * float(rng.lognormal(0.0, 0.4)), 2)
        item["attributes"]["in_stock"] = bool(rng.random() >= 1 / 12)
        if topic == "cooking":
            item["category"] = GROCERIES
    _rename(events, {"click": "view", "like": "add_to_cart"})


def newsroom(items: Rows, events: Rows, rng: np.random.Generator) -> None:
    """The three newest stories flagged breaking; a click is a read, a purchase a share."""
    for item in sorted(items, key=lambda row: -row["published_at"])[:3]:
        item["attributes"]["breaking"] = True
    _rename(events, {"click": "read", "purchase": "share"})


def video_service(items: Rows, events: Rows, rng: np.random.Generator) -> None:
    """Each topic's items in series of four episodes, in order of publication; a click is a
    watch whose value is the share of the video watched, a purchase a share."""
    by_topic: dict[str, Rows] = defaultdict(list)
    for item in sorted(items, key=lambda row: row["published_at"]):
        by_topic[item["attributes"]["topic"]].append(item)
    for topic, members in by_topic.items():
        for position, item in enumerate(members):
            item["attributes"]["series"] = f"{topic.title()} Stories {position // 4 + 1}"
            item["attributes"]["episode"] = position % 4 + 1
    _rename(events, {"click": "watch", "purchase": "share"})
    for event in events:
        if event["type"] == "watch":
            event["value"] = round(float(rng.uniform(0.2, 1.0)), 3)


def course_platform(items: Rows, events: Rows, rng: np.random.Generator) -> None:
    """Each topic's courses in levels of three, in order of publication: a course after the
    first of its level requires the one before; a click is an enrolment, a like progress
    half-way, a purchase a completion."""
    by_topic: dict[str, Rows] = defaultdict(list)
    for item in sorted(items, key=lambda row: row["published_at"]):
        by_topic[item["attributes"]["topic"]].append(item)
    for members in by_topic.values():
        for position, item in enumerate(members):
            if position % 3:
                item["attributes"]["prerequisites"] = [members[position - 1]["id"]]
    _rename(events, {"click": "enroll", "like": "progress", "purchase": "complete"})
    for event in events:
        if event["type"] == "progress":
            event["value"] = 0.5


def _rename(events: Rows, names: dict[str, str]) -> None:
    for event in events:
        event["type"] = names.get(event["type"], event["type"])


DOMAINS: dict[str, Callable[[Rows, Rows, np.random.Generator], None]] = {
    "ecommerce": shop,
    "news": newsroom,
    "video": video_service,
    "education": course_platform,
}
