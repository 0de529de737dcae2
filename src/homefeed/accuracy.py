"""Per-user accuracy of a ranking at a cut-off K (binary relevance, rank r counted from 1):
HR, Recall, Precision, NDCG, MRR and MAP, as defined in ``evaluation.metrics``. Pure numpy at
the bottom layer, so the offline evaluation and the training's quality gate measure alike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RANKING_METRICS = ("hr", "recall", "precision", "ndcg", "mrr", "map")


def hits_matrix(ranked: np.ndarray, relevant: Sequence[set[int]]) -> np.ndarray:
    """Boolean [users, K]: whether the item at each rank is relevant (-1 padding never is)."""
    hits = np.zeros(ranked.shape, dtype=bool)
    for row, items in enumerate(relevant):
        if items:
            hits[row] = np.isin(ranked[row], list(items)) & (ranked[row] >= 0)
    return hits


def ranking_metrics(ranked: np.ndarray, relevant: Sequence[set[int]], k: int) -> dict[str, np.ndarray]:
    """Per-user values of every ranking metric at cut-off ``k``."""
    top = ranked[:, :k]
    hits = hits_matrix(top, relevant).astype(np.float64)
    n_relevant = np.array([len(items) for items in relevant], dtype=np.float64)
    safe_relevant = np.maximum(n_relevant, 1.0)
    ranks = np.arange(1, top.shape[1] + 1, dtype=np.float64)
    discounts = 1.0 / np.log2(ranks + 1.0)
    ideal_hits = np.minimum(n_relevant, k).astype(np.int64)
    ideal = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1.0))])[ideal_hits]
    n_hits = hits.sum(axis=1)
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1.0, np.inf)
    precision_at = np.cumsum(hits, axis=1) / ranks
    return {
        "hr": (n_hits > 0).astype(np.float64),
        "recall": n_hits / safe_relevant,
        "precision": n_hits / k,
        "ndcg": np.divide(hits @ discounts, ideal, out=np.zeros_like(ideal), where=ideal > 0),
        "mrr": 1.0 / first,
        "map": (precision_at * hits).sum(axis=1) / np.maximum(np.minimum(n_relevant, k), 1.0),
    }
