"""Reciprocal rank fusion: several models' ranked lists made one (Cormack et al., 2009).

Where a few models are about equally good on the operator's validation split, which one
leads is a coin toss; their fused list is about as good as the best of them and never
far below it, so the personal row fuses them (``homefeed train --tune`` decides when)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RRF_K = 60  # the constant of the original paper: ranks far down count little, ties little


def fuse(lists: Sequence[np.ndarray], n: int, k: int = RRF_K) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best items by the sum over ``lists`` (item indices, best first; -1 skipped) of
    1 / (k + rank), with those sums, best first (ties by the lower index)."""
    scores: dict[int, float] = {}
    for ranked in lists:
        for position, item in enumerate(np.asarray(ranked).tolist()):
            if item >= 0:
                scores[item] = scores.get(item, 0.0) + 1.0 / (k + position + 1)
    ordered = sorted(scores, key=lambda item: (-scores[item], item))[:n]
    return np.array(ordered, dtype=np.int64), np.array([scores[item] for item in ordered], dtype=np.float64)
