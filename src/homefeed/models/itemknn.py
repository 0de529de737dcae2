"""Item-based nearest neighbours with cosine similarity (Sarwar et al., 2001)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from homefeed.models.base import Recommender, top_k
from homefeed.models.data import Interactions
from homefeed.models.sparse_rows import csr_arrays, csr_from_arrays


class ItemKnnRecommender(Recommender):
    """Scores an item by the summed cosine similarity to the user's items, keeping each
    item's ``neighbours`` most similar items; ``shrink`` damps similarities built on few
    co-occurrences."""

    name = "itemknn"
    config_keys = ("neighbours", "shrink")

    def __init__(self, neighbours: int = 100, shrink: float = 0.0) -> None:
        super().__init__()
        self.neighbours = neighbours
        self.shrink = shrink
        self.similarity = sp.csr_matrix((0, 0), dtype=np.float32)
        self.history = sp.csr_matrix((0, 0), dtype=np.float32)

    def _fit(self, data: Interactions) -> None:
        matrix = data.matrix()
        matrix.data[:] = 1.0
        co_counts = (matrix.T @ matrix).toarray().astype(np.float64)
        norms = np.sqrt(np.diag(co_counts))
        denominator = np.outer(norms, norms) + self.shrink
        similarity = np.divide(co_counts, denominator, out=np.zeros_like(co_counts), where=denominator > 0)
        np.fill_diagonal(similarity, 0.0)
        if 0 < self.neighbours < similarity.shape[0]:
            # keep the strongest neighbours of each item (columns are the scored items)
            cutoff = -np.partition(-similarity, self.neighbours - 1, axis=0)[self.neighbours - 1]
            similarity[similarity < cutoff[None, :]] = 0.0
        self.similarity = sp.csr_matrix(similarity.astype(np.float32))
        self.history = matrix.astype(np.float32)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.history[users] @ self.similarity).todense())

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        vector = np.zeros(self.similarity.shape[0], dtype=np.float32)
        vector[items[weights > 0]] = 1.0
        return np.asarray(self.similarity.T @ vector).ravel()

    def similar_items(self, item_id: str, n: int) -> list[tuple[str, float]]:
        index = self.item_index(item_id)
        if index is None:
            return []
        row = self.similarity[index].toarray().ravel().astype(np.float64)
        row[row <= 0] = -np.inf
        row[index] = -np.inf
        indices, values = top_k(row[None, :], n)
        return [(self.item_ids[i], float(v)) for i, v in zip(indices[0], values[0], strict=True) if i >= 0]

    def _arrays(self) -> dict[str, np.ndarray]:
        history = self.history.tocsr()
        return {
            **csr_arrays("similarity", self.similarity),
            "history_indices": history.indices,
            "history_indptr": history.indptr,
            "history_shape": np.array(history.shape),
        }

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.similarity = csr_from_arrays("similarity", arrays)
        indices = arrays["history_indices"]
        self.history = sp.csr_matrix(
            (np.ones(len(indices), dtype=np.float32), indices, arrays["history_indptr"]),
            shape=tuple(arrays["history_shape"]),
        )
