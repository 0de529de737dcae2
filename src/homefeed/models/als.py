"""Collaborative filtering by implicit's alternating least squares, with fold-in for fresh history."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from homefeed.models.base import Recommender
from homefeed.models.data import Interactions


class AlsRecommender(Recommender):
    """Matrix factorisation of the weighted interaction matrix (Hu, Koren and Volinsky, 2008).

    At request time a user's factors are recomputed from their current history by one
    least-squares step against the fixed item factors (fold-in), so an event sent a
    moment ago already shapes the next recommendation, and users who arrived after
    training are served too.
    """

    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 1.0,
        iterations: int = 15,
        seed: int = 42,
        threads: int = 0,
    ) -> None:
        super().__init__()
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed
        self.threads = threads
        self.user_factors = np.zeros((0, factors), dtype=np.float32)
        self.item_factors = np.zeros((0, factors), dtype=np.float32)
        self._gram: np.ndarray | None = None

    def config(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "seed": self.seed,
        }

    def _fit(self, data: Interactions) -> None:
        # implicit parallelises itself; nested BLAS threads would slow it down.
        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="OpenBLAS is configured", category=RuntimeWarning)
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.seed,
                num_threads=self.threads,
            )
            model.fit(data.matrix(), show_progress=False)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        self._gram = None

    def score_users(self, users: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.user_factors[users] @ self.item_factors.T
        return scores

    def fold_in(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """User factors that best explain ``items`` with confidence 1 + alpha * weight."""
        if self._gram is None:
            self._gram = (self.item_factors.T @ self.item_factors).astype(np.float64)
        keep = weights > 0
        items, weights = items[keep], weights[keep]
        if len(items) == 0:
            return np.zeros(self.factors, dtype=np.float32)
        vectors = self.item_factors[items].astype(np.float64)
        confidence = 1.0 + self.alpha * weights.astype(np.float64)
        lhs = self._gram + (vectors.T * (confidence - 1.0)) @ vectors
        lhs += self.regularization * np.eye(self.factors)
        rhs = vectors.T @ confidence
        return np.linalg.solve(lhs, rhs).astype(np.float32)

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.item_factors @ self.fold_in(items, weights)
        return scores

    def item_vectors(self) -> np.ndarray:
        return self.item_factors

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors = arrays["user_factors"]
        self.item_factors = arrays["item_factors"]
        self._gram = None
