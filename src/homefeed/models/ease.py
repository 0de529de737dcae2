"""EASE: a closed-form linear item-to-item model (Steck, 2019)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from homefeed.errors import TooLargeError
from homefeed.models.base import Recommender
from homefeed.models.data import Interactions, blanked_rows
from homefeed.models.sparse_rows import history_row


def memory_needed(n_items: int) -> int:
    """Bytes EASE holds at its peak: the float64 inverse and the float32 weights."""
    return 12 * n_items * n_items


class EaseRecommender(Recommender):
    """Learns item weights B = argmin ||X - XB||² + λ||B||² with diag(B) = 0, in closed form.

    B is learnt from which items each user chose (binary X); a user is scored as x·B with x
    their row, each item counted once or (``strengths``) weighted by its events' strength, so
    an often-played item counts more. Scores any history (known or new users) this way.
    B is dense, items by items, and so is the matrix inverted to find it: memory grows with
    items² and time with items³, so a catalog above ``max_items`` is refused before any work
    (use itemknn or als there).
    """

    name = "ease"
    config_keys = ("regularization", "max_items", "strengths")

    def __init__(
        self, regularization: float = 500.0, max_items: int = 25_000, strengths: bool = False
    ) -> None:
        super().__init__()
        self.regularization = regularization
        self.max_items = max_items
        self.strengths = strengths
        self.weights = np.zeros((0, 0), dtype=np.float32)
        self.history = sp.csr_matrix((0, 0), dtype=np.float32)

    def _fit(self, data: Interactions) -> None:
        if data.n_items > self.max_items:
            raise TooLargeError(
                f"EASE keeps dense items-by-items matrices: {data.n_items:,} items need about "
                f"{memory_needed(data.n_items) / 2**30:,.1f} GiB, and its time grows with items³; it "
                f"is limited to {self.max_items:,} items (max_items). Use itemknn or als for this "
                "catalog, or raise max_items where the memory is there."
            )
        matrix = data.matrix()
        matrix.data[:] = 1.0
        gram = (matrix.T @ matrix).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.regularization
        # in place: one dense float64 copy at a time (numpy's inv held three)
        precision = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        del gram
        precision /= -np.diag(precision).copy()[None, :]
        precision[np.diag_indices_from(precision)] = 0.0
        self.weights = precision.astype(np.float32)
        self.history = (data.matrix() if self.strengths else matrix).astype(np.float32)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        scores: np.ndarray = np.asarray(self.history[users] @ self.weights)
        return scores

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        vector = history_row(self.weights.shape[0], items, weights, self.strengths)
        scores: np.ndarray = vector @ self.weights
        return scores

    def item_vectors(self) -> np.ndarray:
        return self.weights

    def _keep_users(self, keep: np.ndarray) -> None:
        self.history = self.history.tocsr()[keep]

    def _blank_items(self, indices: np.ndarray) -> None:
        self.weights = blanked_rows(blanked_rows(self.weights, indices).T, indices).T

    def _user_record(self, index: int) -> dict[str, Any]:
        history = self.history.tocsr()
        return {
            "history": self.item_id_list(history.indices[history.indptr[index] : history.indptr[index + 1]])
        }

    def _arrays(self) -> dict[str, np.ndarray]:
        history = self.history.tocsr()
        return {
            "weights": self.weights,
            "history_indptr": history.indptr,
            "history_indices": history.indices,
            "history_shape": np.array(history.shape),
            "history_data": history.data,
        }

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.weights = arrays["weights"]
        indices = arrays["history_indices"]
        self.history = sp.csr_matrix(
            (
                arrays.get("history_data", np.ones(len(indices), dtype=np.float32)),
                indices,
                arrays["history_indptr"],
            ),
            shape=tuple(arrays["history_shape"]),
        )
