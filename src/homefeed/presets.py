"""Domain presets: the settings a shop, a news site, a video service or a course platform
starts from (``HOMEFEED_PRESET``, or ``homefeed init --preset``). A preset fills in what the
operator did not set; every value it names can still be overridden one by one.

Each preset is data: event types and their weights, the page's sources and filters, the rows'
titles and the freshness policy. The behaviour they turn on (the breaking-news slot, the series
and course rows, the price, stock, age and prerequisite filters) lives in the page's sources and
filters, where any site can declare it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# the default page's sources (config.HomepageSettings.sources), which presets lead with a row
_SOURCES = ["new-items", "semantic-history", "interests", "trending", "personal"]
_FILTERS = ["seen", "excluded", "disliked", "ignored", "inactive", "unavailable", "category", "price"]


@dataclass(frozen=True)
class Preset:
    """A kind of site: what it is for (``summary``) and the settings it starts from."""

    name: str
    summary: str
    settings: Mapping[str, Any] = field(default_factory=dict)


ECOMMERCE = Preset(
    "ecommerce",
    "A shop: purchases and add-to-cart weigh most; a bought item is not shown again unless its "
    "category is bought again and again; out-of-stock items are never shown; pages take a price range.",
    {
        "event_weights": {
            "impression": 0.0,
            "view": 0.5,
            "click": 1.0,
            "wishlist": 2.0,
            "add_to_cart": 3.0,
            "purchase": 5.0,
            "rating": 1.0,
            "like": 2.0,
            "return": -3.0,
            "dislike": -2.0,
        },
        "click_types": ["click", "add_to_cart", "purchase"],
        "conversion_types": ["purchase"],
        "homepage": {
            "filters": [*_FILTERS, "duplicates"],
            # what was looked at or put in the cart may come back; what was bought may not
            "reshow_types": ["view", "click", "wishlist", "add_to_cart", "like", "rating"],
            "reshow_categories": ["Groceries", "Household", "Beauty", "Pet supplies", "Baby"],
            "row_titles": {
                "personal": "Recommended for you",
                "popular": "Best sellers",
                "trending": "Trending in the shop",
                "fresh": "New arrivals",
                "profile": "Popular with shoppers like you",
            },
        },
        "popularity": {"half_life_days": 30.0},
    },
)

NEWS = Preset(
    "news",
    "A news site: a breaking-news slot leads the page, nothing older than three days is shown, "
    "trends and popularity fade within hours, and the latest stories fill a short page.",
    {
        "event_weights": {
            "impression": 0.0,
            "view": 1.0,
            "click": 1.0,
            "read": 2.0,
            "like": 2.0,
            "comment": 2.0,
            "share": 3.0,
            "dislike": -2.0,
        },
        "click_types": ["click", "read", "like", "share"],
        "conversion_types": ["share"],
        "homepage": {
            "sources": ["breaking", *_SOURCES],
            "fill": ["fresh", "popular"],
            "filters": [*_FILTERS, "stale", "duplicates"],
            "max_age_days": 3.0,
            "breaking_hours": 6.0,
            "new_items_days": 2.0,
            "new_items_share": 0.2,
            "trending_share": 0.2,
            "trending_half_life_hours": 3.0,
            "trending_days": 2.0,
            "row_titles": {
                "personal": "For you",
                "trending": "Most read",
                "fresh": "Latest news",
                "popular": "Most read this week",
            },
        },
        "popularity": {"half_life_days": 1.0},
    },
)

VIDEO = Preset(
    "video",
    "A video service: a watch event's value is the share of the video watched and scales its "
    "weight; a 'Continue watching' row leads with the next episode of each series being watched.",
    {
        "event_weights": {
            "impression": 0.0,
            "view": 0.5,
            "watch": 2.0,
            "like": 3.0,
            "share": 3.0,
            "dislike": -3.0,
        },
        "event_values": "linear",
        "click_types": ["view", "watch", "like"],
        "conversion_types": ["watch"],
        "homepage": {
            "sources": ["continue-series", *_SOURCES],
            "row_titles": {
                "personal": "Recommended for you",
                "trending": "Trending now",
                "fresh": "New releases",
                "popular": "Popular on the site",
            },
        },
    },
)

EDUCATION = Preset(
    "education",
    "A course platform: a 'Continue learning' row leads with the courses a learner started and "
    "has not finished; a course is shown only once its prerequisites are completed.",
    {
        "event_weights": {
            "impression": 0.0,
            "view": 0.5,
            "enroll": 2.0,
            "progress": 1.0,
            "complete": 3.0,
            "rating": 1.0,
            "like": 2.0,
            "dislike": -2.0,
        },
        "click_types": ["view", "enroll"],
        "conversion_types": ["complete"],
        "homepage": {
            "sources": ["continue-learning", *_SOURCES],
            "filters": [*_FILTERS, "prerequisites", "duplicates"],
            "progress_types": ["enroll", "progress"],
            "completion_types": ["complete"],
            "row_titles": {
                "personal": "Recommended courses",
                "popular": "Most popular courses",
                "fresh": "New courses",
                "trending": "Popular this week",
            },
        },
    },
)

PRESETS: dict[str, Preset] = {preset.name: preset for preset in (ECOMMERCE, NEWS, VIDEO, EDUCATION)}


def with_preset(name: str, given: Mapping[str, Any], sections: frozenset[str]) -> dict[str, Any]:
    """``given`` settings over preset ``name``'s: a value the operator set wins; in a nested
    section (``sections``: homepage, popularity, ...) field by field."""
    preset = PRESETS.get(name)
    if preset is None:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}")
    merged: dict[str, Any] = {**preset.settings, **given}
    for key in sections:
        chosen, theirs = preset.settings.get(key), given.get(key)
        if isinstance(chosen, Mapping) and isinstance(theirs, Mapping):
            merged[key] = {**chosen, **theirs}
    return merged
