"""Maximal marginal relevance: λ = 0 keeps the order, λ > 0 spreads picks over topics."""

from __future__ import annotations

import numpy as np

from homefeed.homepage.diversity import mmr_order


def _topics() -> tuple[np.ndarray, np.ndarray]:
    """Six candidates: the four best are near-copies of one topic, then two other topics."""
    vectors = np.array([[1, 0, 0], [1, 0.05, 0], [1, 0, 0.05], [1, 0.05, 0.05], [0, 1, 0], [0, 0, 1]], float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.array([1.0, 0.95, 0.9, 0.85, 0.6, 0.5]), vectors


def test_no_diversity_keeps_the_relevance_order() -> None:
    scores, vectors = _topics()
    assert mmr_order(scores, vectors, 6, 0.0).tolist() == [0, 1, 2, 3, 4, 5]


def test_diversity_brings_other_topics_up_but_keeps_the_best_first() -> None:
    scores, vectors = _topics()
    order = mmr_order(scores, vectors, 3, 0.5).tolist()
    assert order[0] == 0 and set(order) == {0, 4, 5}
    assert mmr_order(scores, vectors, 3, 0.2).tolist() == [0, 1, 2]  # a little: near-copies still win


def test_more_diversity_never_makes_the_list_more_alike() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = vectors @ vectors[0] + rng.normal(0, 0.1, 200)  # relevance correlated with one direction
    alike = []
    for diversity in (0.0, 0.3, 0.6, 0.9):
        top = vectors[mmr_order(scores, vectors, 20, diversity)]
        alike.append(float((top @ top.T).sum() - 20) / (20 * 19))
    assert alike == sorted(alike, reverse=True)
