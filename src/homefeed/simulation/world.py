"""The simulated people: the synthetic generator's hidden tastes decide what they click.

A visitor examines the page top down with a falling chance (position bias, 1 / log2(p + 2),
as in the generator) and clicks an examined item with probability ``sigmoid(utility +
offset)``, where utility is the generator's own: taste for the item's topic, the item's
quality and its age. An item a person already clicked is not clicked again. A click on an item
they like much may go on to a like or a purchase, as in the generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from homefeed.datasets.synth import load_ground_truth

DAY = 86_400.0


@dataclass
class World:
    """Hidden tastes and item traits of a synthetic set, with the click model over them."""

    preferences: dict[str, np.ndarray]  # user -> taste per topic (sums to 1)
    activity: dict[str, float]  # user -> relative visit rate
    topic: dict[str, int]  # item -> topic
    quality: dict[str, float]  # item -> quality (log-normal, mean about 1.2)
    published: dict[str, float]  # item -> epoch seconds
    start: float  # when the generated log began
    offset: float = 0.0  # added to every utility: shifts every click rate

    @classmethod
    def of(cls, folder: Path, published: dict[str, float]) -> World:
        truth = load_ground_truth(folder)
        if "item_quality" not in truth:
            raise ValueError(f"{folder}: the ground truth has no item qualities; generate the set again")
        return cls(
            preferences={user: np.asarray(p, dtype=float) for user, p in truth["user_preferences"].items()},
            activity={user: float(a) for user, a in truth.get("user_activity", {}).items()},
            topic={item: int(t) for item, t in truth["item_topic"].items()},
            quality={item: float(q) for item, q in truth["item_quality"].items()},
            published=published,
            start=float(truth["start"]),
        )

    def utility(self, user: str, item: str, now: float) -> float:
        """The generator's utility of ``item`` for ``user`` at ``now`` (without position)."""
        taste = float(self.preferences[user][self.topic[item]])
        age_days = max(0.0, now - self.published.get(item, now)) / DAY
        return float(2.5 * np.log(taste + 0.02) + 0.7 * np.log(self.quality[item]) - age_days / 45.0)

    def clicks(
        self, user: str, items: list[str], now: float, clicked_before: set[str], rng: np.random.Generator
    ) -> list[int]:
        """Positions the visitor clicks on a page showing ``items`` (top first)."""
        chosen = []
        for position, item in enumerate(items):
            if item in clicked_before or item not in self.topic:
                continue
            examined = rng.random() < 1.0 / np.log2(position + 2.0)
            if examined and rng.random() < _sigmoid(self.utility(user, item, now) + self.offset):
                chosen.append(position)
        return chosen

    def follow_up(self, user: str, item: str, rng: np.random.Generator) -> str | None:
        """What a click may lead to: a like or a purchase, more often on a topic they love."""
        taste = float(self.preferences[user][self.topic[item]])
        if rng.random() < 0.3 * taste + 0.05:
            return "like" if rng.random() < 0.7 else "purchase"
        return None


def _sigmoid(value: float) -> float:
    return float(1.0 / (1.0 + np.exp(-value)))
