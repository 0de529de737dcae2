"""Random ranking: the floor every model must clear."""

from __future__ import annotations

import numpy as np

from homefeed.models.base import Recommender
from homefeed.models.data import Interactions


class RandomRecommender(Recommender):
    """Independent random scores per call, reproducible from the seed."""

    name = "random"
    personal = False
    config_keys = ("seed",)

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def _fit(self, data: Interactions) -> None:
        self._rng = np.random.default_rng(self.seed)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return self._rng.random((len(users), self.n_items))

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return self._rng.random(self.n_items)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self._rng = np.random.default_rng(self.seed)
