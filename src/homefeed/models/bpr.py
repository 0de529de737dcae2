"""Bayesian personalised ranking, trained by implicit (Rendle et al., 2009)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from implicit.cpu.bpr import BayesianPersonalizedRanking
from threadpoolctl import threadpool_limits

from homefeed.models.base import Recommender
from homefeed.models.data import Interactions, blanked_rows
from homefeed.threads import thread_limit


class BprRecommender(Recommender):
    """Pairwise matrix factorisation. implicit appends an item-bias column to the item factors
    (and a column of ones to the user factors), so scores are u·v + b.

    A user unknown at training time is represented by the mean of their items' factors
    (without the bias), plus the item bias: a cheap fold-in that keeps the model usable for
    new users without an optimisation at request time.
    """

    name = "bpr"
    config_keys = ("factors", "learning_rate", "regularization", "iterations", "seed")

    def __init__(
        self,
        factors: int = 32,
        learning_rate: float = 0.01,
        regularization: float = 0.03,
        iterations: int = 200,
        seed: int = 42,
        threads: int = 0,
    ) -> None:
        super().__init__()
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.seed = seed
        self.threads = threads
        self.user_factors = np.zeros((0, factors + 1), dtype=np.float32)
        self.item_factors = np.zeros((0, factors + 1), dtype=np.float32)

    def _fit(self, data: Interactions) -> None:
        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="OpenBLAS is configured", category=RuntimeWarning)
            model = BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self.learning_rate,
                regularization=self.regularization,
                iterations=self.iterations,
                random_state=self.seed,
                num_threads=self.threads or thread_limit(),
            )
            matrix = data.matrix()
            matrix.data[:] = 1.0
            model.fit(matrix, show_progress=False)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.user_factors[users] @ self.item_factors.T
        return scores

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        items = items[weights > 0]
        bias = self.item_factors[:, -1]
        if len(items) == 0:
            return bias.copy()
        user = self.item_factors[items, :-1].mean(axis=0)
        scores: np.ndarray = self.item_factors[:, :-1] @ user + bias
        return scores

    def item_vectors(self) -> np.ndarray:
        return self.item_factors[:, :-1]

    def _keep_users(self, keep: np.ndarray) -> None:
        self.user_factors = self.user_factors[keep]

    def _blank_items(self, indices: np.ndarray) -> None:
        self.item_factors = blanked_rows(self.item_factors, indices)

    def _user_record(self, index: int) -> dict[str, Any]:
        return {"factors": self.user_factors[index].tolist()}

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors = arrays["user_factors"]
        self.item_factors = arrays["item_factors"]
