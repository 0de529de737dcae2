"""EASE: a closed-form linear item-to-item model (Steck, 2019)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from homefeed.models.base import Recommender
from homefeed.models.data import Interactions


class EaseRecommender(Recommender):
    """Learns item weights B = argmin ||X - XB||² + λ||B||² with diag(B) = 0, in closed form.

    Scores any history (known or new users) as x·B. Memory and time grow with items²,
    so it suits catalogs up to a few tens of thousands of items.
    """

    name = "ease"
    config_keys = ("regularization",)

    def __init__(self, regularization: float = 500.0) -> None:
        super().__init__()
        self.regularization = regularization
        self.weights = np.zeros((0, 0), dtype=np.float32)
        self.history = sp.csr_matrix((0, 0), dtype=np.float32)

    def _fit(self, data: Interactions) -> None:
        matrix = data.matrix()
        matrix.data[:] = 1.0
        gram = (matrix.T @ matrix).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.regularization
        precision = np.linalg.inv(gram)
        weights = -precision / np.diag(precision)[None, :]
        weights[np.diag_indices_from(weights)] = 0.0
        self.weights = weights.astype(np.float32)
        self.history = matrix.astype(np.float32)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        scores: np.ndarray = np.asarray(self.history[users] @ self.weights)
        return scores

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        vector = np.zeros(self.weights.shape[0], dtype=np.float32)
        vector[items[weights > 0]] = 1.0
        scores: np.ndarray = vector @ self.weights
        return scores

    def item_vectors(self) -> np.ndarray:
        return self.weights

    def _arrays(self) -> dict[str, np.ndarray]:
        history = self.history.tocsr()
        return {
            "weights": self.weights,
            "history_indptr": history.indptr,
            "history_indices": history.indices,
            "history_shape": np.array(history.shape),
        }

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.weights = arrays["weights"]
        indices = arrays["history_indices"]
        self.history = sp.csr_matrix(
            (np.ones(len(indices), dtype=np.float32), indices, arrays["history_indptr"]),
            shape=tuple(arrays["history_shape"]),
        )
