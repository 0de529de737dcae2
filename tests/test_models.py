"""Models against data whose right answer is known."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from homefeed.domain import ItemFields
from homefeed.errors import TooLargeError
from homefeed.models import Interactions, itemknn, top_k
from homefeed.models.als import AlsRecommender, TextMappedAlsRecommender
from homefeed.models.bpr import BprRecommender
from homefeed.models.ease import EaseRecommender
from homefeed.models.itemknn import ItemKnnRecommender
from homefeed.models.popularity import PopularityRecommender
from homefeed.models.text import TextRecommender

WEIGHTS = {"click": 1.0, "like": 2.0, "dislike": -2.0, "impression": 0.0}


def _blocks(n_users: int = 60, n_items: int = 40, seed: int = 0) -> Interactions:
    """Two planted groups: even users like items 0-19, odd users like items 20-39."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        block = range(0, 20) if user % 2 == 0 else range(20, 40)
        for item in rng.choice(list(block), size=8, replace=False):
            rows.append((f"u{user:03d}", f"i{item:03d}", "click", float(user)))
    return Interactions.from_rows(rows, WEIGHTS, [f"i{i:03d}" for i in range(n_items)])


def test_top_k_orders_ties_by_index_and_skips_excluded() -> None:
    scores = np.array([[1.0, 3.0, 3.0, -np.inf, 2.0, 3.0]])
    indices, values = top_k(scores, 4)
    assert indices.tolist() == [[1, 2, 5, 4]]
    assert values.tolist() == [[3.0, 3.0, 3.0, 2.0]]
    indices, _ = top_k(np.array([[-np.inf, 1.0, -np.inf]]), 3)
    assert indices.tolist() == [[1, -1, -1]]


def test_interactions_weights_and_vocabulary() -> None:
    rows = [
        ("2", "10", "click", 1.0),
        ("2", "10", "like", 2.0),
        ("10", "9", "dislike", 3.0),
        ("10", "9", "click", 4.0),
        ("2", "9", "impression", 5.0),
        ("2", "99", "click", 6.0),
    ]
    data = Interactions.from_rows(rows, WEIGHTS, catalog=["10", "9", "8"])
    assert data.user_ids == ["2", "10"] and data.item_ids == ["8", "9", "10"]  # numeric order
    matrix = data.matrix().toarray()
    assert matrix.tolist() == [[0.0, 0.0, 3.0], [0.0, 0.0, 0.0]]  # net-negative pair dropped
    assert data.seen_matrix().toarray().tolist() == [[0, 0, 1], [0, 1, 0]]


def test_popularity_counts_and_decays() -> None:
    rows = [("a", "x", "click", 0.0), ("b", "x", "click", 0.0), ("a", "y", "click", 86_400.0 * 10)]
    data = Interactions.from_rows(rows, WEIGHTS)
    plain = PopularityRecommender(half_life_days=None).fit(data)
    assert plain.scores.tolist() == [2.0, 1.0]
    decayed = PopularityRecommender(half_life_days=10).fit(data)
    assert decayed.scores.tolist() == pytest.approx([1.0, 1.0])  # two clicks one half-life ago = one now
    assert plain.recommend(["a", "zz"], 5, exclude=[["x"], []]) == [[("y", 1.0)], []]


def test_popularity_counts_people_not_events() -> None:
    """One user repeating a click 500 times is one user: three users' single clicks outrank it;
    a user's repeated events count once, at their latest."""
    bot = [("bot", "pushed", "click", 86_400.0 * 30 + n) for n in range(500)]
    fans = [(f"fan{n}", "liked", "click", 86_400.0 * 30) for n in range(3)]
    late = [("c", "old", "click", 0.0), ("c", "old", "click", 86_400.0 * 30)]
    data = Interactions.from_rows([*bot, *fans, *late], WEIGHTS)
    plain = PopularityRecommender(half_life_days=None).fit(data)
    scores = dict(zip(data.item_ids, plain.scores.tolist(), strict=True))
    assert scores == {"liked": 3.0, "old": 1.0, "pushed": 1.0}
    decayed = PopularityRecommender(half_life_days=10).fit(data)
    scores = dict(zip(data.item_ids, decayed.scores.tolist(), strict=True))
    assert scores["old"] > 0.99  # the latest of c's two clicks (30 days on), not the first (0.125)


def _assert_same_lists(got: list[list[tuple[str, float]]], expected: list[list[tuple[str, float]]]) -> None:
    """Same items in the same order; scores equal up to float rounding (BLAS may sum a
    3-user batch in another order than a 40-user one)."""
    assert [[item for item, _ in row] for row in got] == [[item for item, _ in row] for row in expected]
    for row, wanted in zip(got, expected, strict=True):
        assert [score for _, score in row] == pytest.approx([score for _, score in wanted], rel=1e-5)


def test_als_recovers_planted_groups_and_round_trips(tmp_path: Path) -> None:
    data = _blocks()
    model = AlsRecommender(factors=8, regularization=0.05, iterations=20, seed=1).fit(data)
    seen = [[data.item_ids[i] for i in data.matrix()[u].indices] for u in range(data.n_users)]
    recs = model.recommend(data.user_ids, 5, exclude=seen)
    hits = 0
    for user, items in enumerate(recs):
        block = range(0, 20) if user % 2 == 0 else range(20, 40)
        hits += sum(int(item[1:]) in block for item, _ in items)
        assert not set(seen[user]) & {item for item, _ in items}
    assert hits / (5 * data.n_users) > 0.95
    similar = model.similar_items("i003", 5)
    assert all(int(item[1:]) < 20 for item, _ in similar)
    model.save(tmp_path / "als")
    loaded = AlsRecommender.load(tmp_path / "als")
    _assert_same_lists(loaded.recommend(data.user_ids[:3], 5, exclude=seen[:3]), recs[:3])
    assert not list((tmp_path / "als").glob("*.pkl"))


def test_fold_in_matches_trained_user_factors() -> None:
    data = _blocks()
    model = AlsRecommender(factors=8, regularization=0.05, iterations=30, seed=1).fit(data)
    matrix = data.matrix()
    for user in range(0, 10):
        row = matrix[user]
        folded = model.score_history(row.indices, row.data)
        trained = model.score_users(np.array([user]))[0]
        assert np.corrcoef(folded, trained)[0, 1] > 0.99
    # a brand-new user with two clicks in the second group gets second-group items
    fresh = model.score_history(np.array([25, 30]), np.array([1.0, 1.0], dtype=np.float32))
    fresh[[25, 30]] = -np.inf
    assert all(index >= 20 for index in top_k(fresh[None, :], 5)[0][0])


def test_loading_the_wrong_model_kind_is_refused(tmp_path: Path) -> None:
    PopularityRecommender().fit(_blocks()).save(tmp_path / "pop")
    with pytest.raises(ValueError, match="'popularity' model, not 'als'"):
        AlsRecommender.load(tmp_path / "pop")


@pytest.mark.parametrize(
    "model",
    [
        lambda: EaseRecommender(regularization=10.0),
        lambda: ItemKnnRecommender(neighbours=10),
        lambda: BprRecommender(factors=8, learning_rate=0.05, iterations=100, seed=1, threads=1),
    ],
    ids=["ease", "itemknn", "bpr"],
)
def test_baselines_recover_planted_groups_and_round_trip(model: Any, tmp_path: Path) -> None:
    data = _blocks()
    fitted = model().fit(data)
    seen = [[data.item_ids[i] for i in data.matrix()[u].indices] for u in range(data.n_users)]
    recs = fitted.recommend(data.user_ids, 5, exclude=seen)
    hits = sum(
        int(item[1:]) in (range(0, 20) if user % 2 == 0 else range(20, 40))
        for user, items in enumerate(recs)
        for item, _ in items
    )
    assert hits / (5 * data.n_users) > 0.9
    fresh = fitted.score_history(np.array([25, 30]), np.array([1.0, 1.0], dtype=np.float32)).astype(float)
    fresh[[25, 30]] = -np.inf
    assert sum(index >= 20 for index in top_k(fresh[None, :], 5)[0][0]) >= 4
    fitted.save(tmp_path / "model")
    loaded = type(fitted).load(tmp_path / "model")
    _assert_same_lists(loaded.recommend(data.user_ids[:4], 5, exclude=seen[:4]), recs[:4])


COLD_GROUPS = np.array([0] * 20 + [1] * 20 + [0, 0, 1, 1])  # items 40-43: two per group, no events


def _blocks_with_cold_items() -> Interactions:
    """The planted blocks, in a catalog of 44 items whose last four nobody interacted with."""
    base = _blocks()
    rows = [
        (base.user_ids[u], base.item_ids[i], "click", 0.0)
        for u, i in zip(base.users, base.items, strict=True)
    ]
    return Interactions.from_rows(rows, WEIGHTS, [f"i{i:03d}" for i in range(44)])


def _fit_text_mapped(data: Interactions) -> TextMappedAlsRecommender:
    model = TextMappedAlsRecommender(
        factors=8, regularization=0.05, iterations=20, seed=1, text_regularization=1.0
    )
    return model.fit(data)


def _assert_cold_items_follow_groups(
    model: TextMappedAlsRecommender, data: Interactions, cold: np.ndarray
) -> None:
    """Every user's best cold item belongs to the user's planted group (even users: group 0)."""
    scores = model.score_users(np.arange(data.n_users))
    for user in range(data.n_users):
        assert COLD_GROUPS[cold[np.argmax(scores[user, cold])]] == int(data.user_ids[user][1:]) % 2


def test_text_mapped_als_scores_never_seen_items_by_their_text(tmp_path: Path) -> None:
    """Items 40-43 have no interactions; their text says which planted group they belong to."""
    data = _blocks_with_cold_items()
    rng = np.random.default_rng(3)
    data.item_text = (np.eye(2)[COLD_GROUPS] + rng.normal(0, 0.05, (44, 2))).astype(np.float32)
    model = _fit_text_mapped(data)
    cold = np.array([40, 41, 42, 43])
    _assert_cold_items_follow_groups(model, data, cold)  # the group decides which new item wins
    model.save(tmp_path / "als-text")
    loaded = TextMappedAlsRecommender.load(tmp_path / "als-text")
    np.testing.assert_allclose(loaded.map_items(data.item_text[cold]), model.item_factors[cold], rtol=1e-5)
    with pytest.raises(ValueError, match="needs item text"):
        TextMappedAlsRecommender(factors=4).fit(_blocks())


def test_text_mapped_als_places_cold_items_by_their_tags_when_text_says_nothing(tmp_path: Path) -> None:
    """Items 40-43 have no interactions and noise for text; their tag names the planted group."""
    data = _blocks_with_cold_items()
    data.item_text = np.random.default_rng(3).normal(0, 0.1, (44, 4)).astype(np.float32)
    data.item_fields = [ItemFields(title=f"item {i}", tags=[f"group-{COLD_GROUPS[i]}"]) for i in range(44)]
    model = _fit_text_mapped(data)
    cold = np.array([40, 41, 42, 43])
    _assert_cold_items_follow_groups(model, data, cold)
    model.save(tmp_path / "als-text")
    loaded = TextMappedAlsRecommender.load(tmp_path / "als-text")
    assert loaded.feature_space == model.feature_space
    fields = [data.item_fields[i] for i in cold]
    np.testing.assert_allclose(
        loaded.map_items(data.item_text[cold], fields), model.item_factors[cold], rtol=1e-4, atol=1e-6
    )
    with pytest.raises(ValueError, match="give the items' fields"):
        loaded.map_items(data.item_text[cold])
    text_only = TextMappedAlsRecommender(factors=8, iterations=5, metadata_weight=0.0).fit(data)
    assert text_only.feature_space is None


def test_text_model_ranks_by_similarity_to_the_recent_history(tmp_path: Path) -> None:
    data = _blocks()
    group = np.array([0] * 20 + [1] * 20)
    data.item_text = np.eye(2, dtype=np.float32)[group] + 0.01 * np.arange(40, dtype=np.float32)[:, None]
    model = TextRecommender(half_life=0.5).fit(data)
    last_in_group_1 = model.score_history(np.array([0, 1, 25]), np.ones(3, dtype=np.float32))
    assert last_in_group_1[30] > last_in_group_1[5]  # the latest item weighs most
    seen = [[data.item_ids[i] for i in data.matrix()[u].indices] for u in range(data.n_users)]
    recs = model.recommend(data.user_ids[:4], 5, exclude=seen[:4])
    for user, items in zip(data.user_ids[:4], recs, strict=True):
        assert all(int(item[1:]) // 20 == int(user[1:]) % 2 for item, _ in items)
    model.save(tmp_path / "text")
    assert TextRecommender.load(tmp_path / "text").recommend(data.user_ids[:4], 5, exclude=seen[:4]) == recs


def test_item_knn_built_in_blocks_equals_the_dense_cosine_top_neighbours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Block by block (here 3 columns at a time, the last block short) gives exactly the
    dense computation: cosine with shrink, diagonal zero, each column's top ``neighbours``."""
    rng = np.random.default_rng(3)
    binary = (rng.random((50, 31)) < 0.2).astype(np.float64)
    co = binary.T @ binary
    norms = np.sqrt(np.diag(co))
    dense = co / (np.outer(norms, norms) + 2.0)
    np.fill_diagonal(dense, 0.0)
    cutoff = -np.partition(-dense, 4, axis=0)[4]
    dense[dense < cutoff[None, :]] = 0.0
    monkeypatch.setattr(itemknn, "BLOCK_ENTRIES", 31 * 3)
    built = itemknn.neighbour_similarity(sp.csc_matrix(binary), neighbours=5, shrink=2.0)
    np.testing.assert_array_equal(built.toarray(), dense.astype(np.float32))
    assert (np.diff(built.tocsc().indptr) >= 5).sum() >= 25  # most columns keep 5 (more on ties)


def test_each_column_keeps_its_top_neighbours_with_ties_at_the_cut() -> None:
    columns = np.array([0, 0, 0, 0, 1, 1, 2])
    values = np.array([1.0, 3.0, 2.0, 2.0, 5.0, 4.0, 7.0])
    kept = itemknn._top_per_column(columns, values, keep=2)
    assert kept.tolist() == [False, True, True, True, True, True, True]


def test_ease_refuses_a_catalog_above_its_limit_before_any_work() -> None:
    with pytest.raises(TooLargeError, match=r"40 items need about .* limited to 30 items.*itemknn or als"):
        EaseRecommender(max_items=30).fit(_blocks())
    assert EaseRecommender(max_items=40).fit(_blocks()).weights.shape == (40, 40)
