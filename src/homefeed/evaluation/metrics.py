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

from homefeed.accuracy import RANKING_METRICS, hits_matrix, ranking_metrics

__all__ = ["RANKING_METRICS", "hits_matrix", "ranking_metrics"]  # and the beyond-accuracy metrics below


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
