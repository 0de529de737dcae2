"""Diversity by maximal marginal relevance (Carbonell & Goldstein, 1998) over item vectors.

Each next pick maximises (1 - λ) x relevance - λ x its highest cosine to the picks so far.
λ = 0 keeps the relevance order; larger λ trades relevance for variety. Relevance is the
candidates' scores rescaled to [0, 1], so λ means the same for every source.
"""

from __future__ import annotations

import numpy as np


def mmr_order(scores: np.ndarray, vectors: np.ndarray, k: int, diversity: float) -> np.ndarray:
    """Positions (into ``scores``) of ``k`` picks in MMR order; ``vectors`` are unit rows."""
    n = len(scores)
    k = min(k, n)
    if diversity <= 0.0 or n <= 1:
        return np.argsort(-scores, kind="stable")[:k]
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    low, high = float(scores.min()), float(scores.max())
    relevance = (scores - low) / (high - low) if high > low else np.ones(n)
    similarity = vectors @ vectors.T
    value = (1.0 - diversity) * relevance
    order = [int(np.argmax(value))]
    closest = similarity[order[0]].copy()  # each candidate's highest similarity to the picks
    for _ in range(k - 1):
        gain = value - diversity * closest
        gain[order] = -np.inf
        order.append(int(np.argmax(gain)))
        closest = np.maximum(closest, similarity[order[-1]])
    return np.array(order, dtype=np.int64)
