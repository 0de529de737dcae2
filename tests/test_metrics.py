"""Metrics against hand-computed answers and an independent implementation (ir-measures)."""

from __future__ import annotations

import math

import ir_measures
import numpy as np
import pytest
from ir_measures import AP, RR, P, R, Success, nDCG

from homefeed.evaluation import metrics as m


def test_ranking_metrics_hand_computed() -> None:
    ranked = np.array([[3, 1, 2, 0], [5, 6, 7, 8], [0, -1, -1, -1]])
    relevant = [{1, 0}, {9}, {0}]
    values = m.ranking_metrics(ranked, relevant, 3)
    ideal = 1 + 1 / math.log2(3)
    assert values["hr"].tolist() == [1.0, 0.0, 1.0]
    assert values["recall"].tolist() == [0.5, 0.0, 1.0]
    assert values["precision"].tolist() == pytest.approx([1 / 3, 0.0, 1 / 3])
    assert values["ndcg"].tolist() == pytest.approx([(1 / math.log2(3)) / ideal, 0.0, 1.0])
    assert values["mrr"].tolist() == [0.5, 0.0, 1.0]
    assert values["map"].tolist() == pytest.approx([0.5 / 2, 0.0, 1.0])
    # at K=4 the second hit (item 0 at rank 4) counts too
    at4 = m.ranking_metrics(ranked, relevant, 4)
    assert at4["map"][0] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert at4["ndcg"][0] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)


def test_agrees_with_ir_measures_on_random_rankings() -> None:
    rng = np.random.default_rng(0)
    n_users, n_items, k = 60, 200, 10
    ranked = np.array([rng.permutation(n_items)[:30] for _ in range(n_users)])
    relevant = [
        set(rng.choice(n_items, size=rng.integers(1, 12), replace=False).tolist()) for _ in range(n_users)
    ]
    # make sure many users have hits
    for row in range(0, n_users, 2):
        relevant[row].add(int(ranked[row, rng.integers(0, k)]))
    ours = m.ranking_metrics(ranked, relevant, k)
    qrels = {f"u{u}": {f"i{i}": 1 for i in items} for u, items in enumerate(relevant)}
    run = {f"u{u}": {f"i{i}": float(len(row) - r) for r, i in enumerate(row)} for u, row in enumerate(ranked)}
    theirs = {
        (metric, query): value
        for metric, query, value in (
            (str(x.measure), x.query_id, x.value)
            for x in ir_measures.iter_calc([nDCG @ k, RR @ k, P @ k, R @ k, Success @ k, AP @ k], qrels, run)
        )
    }
    for u in range(n_users):
        q = f"u{u}"
        size = len(relevant[u])
        assert ours["ndcg"][u] == pytest.approx(theirs[("nDCG@10", q)], abs=1e-9)
        assert ours["mrr"][u] == pytest.approx(theirs[("RR@10", q)], abs=1e-9)
        assert ours["precision"][u] == pytest.approx(theirs[("P@10", q)], abs=1e-9)
        assert ours["recall"][u] == pytest.approx(theirs[("R@10", q)], abs=1e-9)
        assert ours["hr"][u] == pytest.approx(theirs[("Success@10", q)], abs=1e-9)
        # trec_eval's AP@K divides by |relevant|; ours by min(|relevant|, K)
        assert ours["map"][u] == pytest.approx(theirs[("AP@10", q)] * size / min(size, k), abs=1e-9)


def test_beyond_accuracy_hand_computed() -> None:
    ranked = np.array([[0, 1], [0, 2]])
    assert m.coverage(ranked, 4) == 0.75
    users_per_item = np.array([8.0, 4.0, 2.0, 0.0])
    assert m.novelty(ranked, users_per_item, 8).tolist() == pytest.approx(
        [0.5, 1.0]
    )  # -log2(1), -log2(1/2) ...
    assert m.popularity_percentile(np.array([5.0, 1.0, 5.0, 0.0])).tolist() == pytest.approx(
        [2.5 / 3, 1 / 3, 2.5 / 3, 0]
    )
    features = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert m.intra_list_diversity(np.array([[0, 1], [0, 2]]), features).tolist() == pytest.approx([1.0, 0.0])
    assert m.gini(np.array([3.0, 3.0, 3.0])) == pytest.approx(0.0)
    assert m.gini(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)
    assert m.exposure(np.array([[0, 1], [0, -1]]), 3).tolist() == [2.0, 1.0, 0.0]
    assert m.category_exposure(np.array([2.0, 1.0]), [["a", "b"], ["b"]]) == {"a": 1.0, "b": 2.0}
