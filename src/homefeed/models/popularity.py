"""Most popular items: a count of positive interactions, optionally decayed with time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from homefeed.domain import UserProfile
from homefeed.models.base import Recommender
from homefeed.models.data import Interactions

DAY = 86_400.0


class PopularityRecommender(Recommender):
    """Scores every item by how many users had a positive interaction with it, recent ones
    counting more.

    With ``half_life_days=None`` it is the classic MostPop: plain counts of training
    interactions, ties by item id.
    """

    name = "popularity"
    personal = False
    config_keys = ("half_life_days",)

    def __init__(self, half_life_days: float | None = 30.0) -> None:
        super().__init__()
        self.half_life_days = half_life_days
        self.scores: np.ndarray = np.zeros(0, dtype=np.float64)

    def _fit(self, data: Interactions) -> None:
        positive = data.weights > 0
        users, items = data.users[positive], data.items[positive]
        contribution = np.ones(len(items), dtype=np.float64)
        if self.half_life_days is not None and positive.any():
            age = data.timestamps[positive].max() - data.timestamps[positive]
            contribution = np.power(0.5, age / (self.half_life_days * DAY))
        # people, not events: a user counts once per item (their latest event on it), so one
        # user repeating an event cannot make an item popular for everyone
        pair = users.astype(np.int64) * max(data.n_items, 1) + items
        order = np.lexsort((contribution, pair))
        last = np.ones(len(order), dtype=bool)
        last[:-1] = pair[order][1:] != pair[order][:-1]
        kept = order[last]
        self.scores = np.bincount(  # float64 because weights are given
            items[kept], weights=contribution[kept], minlength=data.n_items
        )

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scores, (len(users), len(self.scores)))

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return self.scores

    def score_new_users_at(
        self,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        items: np.ndarray,
    ) -> np.ndarray:
        return np.broadcast_to(self.scores[items], (len(histories), len(items)))

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.scores = arrays["scores"]
