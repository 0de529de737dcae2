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
    low, high = float(scores.min()), float(scores.max())
    relevance = (scores - low) / (high - low) if high > low else np.ones(n)
    closest = np.full(n, -np.inf)  # each candidate's highest similarity to the picks so far
    chosen = np.zeros(n, dtype=bool)
    order = []
    for _ in range(k):
        penalty = np.where(np.isfinite(closest), closest, 0.0)
        value = (1.0 - diversity) * relevance - diversity * penalty
        value[chosen] = -np.inf
        pick = int(np.argmax(value))
        order.append(pick)
        chosen[pick] = True
        closest = np.maximum(closest, vectors @ vectors[pick])
    return np.array(order, dtype=np.int64)
