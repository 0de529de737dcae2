"""Ranking and beyond-accuracy metrics, computed per user so they can be grouped.

Definitions (binary relevance, rank r counted from 1, a list truncated at K):
- HR@K: 1 if any relevant item is in the top K.
- Recall@K: |relevant in top K| / |relevant|.  Precision@K: |relevant in top K| / K.
- NDCG@K: sum over hits of 1/log2(r+1), divided by the same sum for an ideal list of
  min(|relevant|, K) hits.
- MRR@K: 1/r of the first hit, 0 without one.
- MAP@K: sum over hits of Precision@r, divided by min(|relevant|, K) (the usual recommender
  convention; trec_eval divides by |relevant|).
- Novelty: mean self-information -log2(p) of recommended items, p = share of training users
  who interacted with the item.
- Intra-list diversity: 1 - mean pairwise cosine of the items' feature vectors (category /
  genre multi-hot until text embeddings are available).
- Popularity bias: mean popularity percentile (0 = least, 1 = most popular) of recommended items.
- Exposure Gini: inequality of how often items (or categories) are recommended; 0 = equal.
"""

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


def coverage(ranked: np.ndarray, n_candidates: int) -> float:
    """Share of the rankable items that appear in at least one list."""
    shown = np.unique(ranked[ranked >= 0])
    return float(len(shown) / n_candidates) if n_candidates else 0.0


def novelty(ranked: np.ndarray, item_users: np.ndarray, n_users: int) -> np.ndarray:
    """Per-user mean self-information of recommended items (unseen items count as seen once)."""
    probability = np.maximum(item_users, 1.0) / max(n_users, 1)
    information = -np.log2(probability)
    values = np.where(ranked >= 0, information[np.maximum(ranked, 0)], np.nan)
    means: np.ndarray = np.nanmean(values, axis=1)
    return means


def popularity_percentile(item_users: np.ndarray) -> np.ndarray:
    """Each item's popularity percentile in [0, 1], ties sharing their mean rank."""
    order = np.argsort(item_users, kind="stable")
    ranks = np.empty(len(item_users), dtype=np.float64)
    ranks[order] = np.arange(len(item_users), dtype=np.float64)
    for value in np.unique(item_users):  # average ranks of ties
        mask = item_users == value
        ranks[mask] = ranks[mask].mean()
    return ranks / max(len(item_users) - 1, 1)


def popularity_bias(ranked: np.ndarray, percentiles: np.ndarray) -> np.ndarray:
    values = np.where(ranked >= 0, percentiles[np.maximum(ranked, 0)], np.nan)
    means: np.ndarray = np.nanmean(values, axis=1)
    return means


def intra_list_diversity(ranked: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Per-user 1 - mean pairwise cosine similarity of the listed items' feature rows."""
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit = np.divide(features, norms, out=np.zeros_like(features, dtype=np.float64), where=norms > 0)
    result = np.full(len(ranked), np.nan)
    for row, items in enumerate(ranked):
        items = items[items >= 0]
        if len(items) < 2:
            continue
        vectors = unit[items]
        similarity = vectors @ vectors.T
        n = len(items)
        result[row] = 1.0 - (similarity.sum() - np.trace(similarity)) / (n * (n - 1))
    return result


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = perfectly equal, →1 = concentrated)."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    total = values.sum()
    if len(values) == 0 or total == 0:
        return 0.0
    n = len(values)
    cumulative = np.cumsum(values)
    return float((n + 1 - 2 * (cumulative / total).sum()) / n)


def exposure(ranked: np.ndarray, n_items: int) -> np.ndarray:
    """How many lists each item appears in."""
    shown = ranked[ranked >= 0]
    return np.bincount(shown, minlength=n_items).astype(np.float64)


def category_exposure(
    item_exposure: np.ndarray, item_categories: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Exposure summed per category; an item in several categories splits its exposure."""
    totals: dict[str, float] = {}
    for count, categories in zip(item_exposure, item_categories, strict=True):
        if count and categories:
            for category in categories:
                totals[category] = totals.get(category, 0.0) + count / len(categories)
    return totals
