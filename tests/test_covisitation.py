"""Co-visitation against sequences with planted sessions: items picked together in time."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from homefeed.models import Interactions, covisitation
from homefeed.models.covisitation import CovisitationRecommender

WEIGHTS = {"click": 1.0, "dislike": -2.0}
SESSION = 4  # items 4k .. 4k+3 form session k
HUB = "i099"  # an item picked in every session: popular, related to nothing in particular


def _sessions(n_users: int = 80, seed: int = 0) -> Interactions:
    """Each user goes through 3 random sessions of 10; within one, its four items and the hub
    come in random order, one event a second; sessions are a day apart."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        clock = 0.0
        for session in rng.choice(10, size=3, replace=False):
            items = [f"i{SESSION * session + offset:03d}" for offset in range(SESSION)] + [HUB]
            for item in rng.permutation(items):
                rows.append((f"u{user:03d}", str(item), "click", clock))
                clock += 1.0
            clock += 86_400.0
    return Interactions.from_rows(rows, WEIGHTS)


def _ids(model: CovisitationRecommender, indices: np.ndarray) -> list[str]:
    return [model.item_ids[int(i)] for i in indices]


def test_the_latest_items_bring_their_session_mates_first() -> None:
    data = _sessions()
    model = CovisitationRecommender(window=4, recent=2).fit(data)
    history = np.array([data.item_index("i020"), data.item_index("i021")])  # two of session 5
    scores = model.score_history(history, np.ones(2, dtype=np.float32))
    scores[history] = -np.inf
    top = _ids(model, np.argsort(-scores)[:2])
    assert sorted(top) == ["i022", "i023"]
    assert sorted(item for item, _ in model.similar_items("i020", 3)) == ["i021", "i022", "i023"]


def test_each_pick_is_explained_by_the_liked_item_it_was_picked_with() -> None:
    data = _sessions()
    model = CovisitationRecommender(window=4, recent=3, neighbours=4).fit(data)  # session mates + hub
    liked = np.array([data.item_index(item) for item in ("i020", "i008", "i021")])  # sessions 5, 2, 5
    near = np.asarray(model.similarity[liked].sum(axis=0)).ravel() > 0
    unrelated = int(np.flatnonzero(~near)[0])  # never picked near any liked item
    chosen = np.array([data.item_index("i022"), data.item_index("i009"), unrelated])
    anchors = model.anchors(liked, chosen)
    assert model.item_ids[anchors[0]] in {"i020", "i021"}  # a session-5 mate of i022
    assert model.item_ids[anchors[1]] == "i008"  # the only liked item of session 2
    assert anchors[2] == -1  # nothing to name


def test_without_popularity_damping_the_hub_wins_everywhere() -> None:
    data = _sessions()
    history = np.array([data.item_index("i020")])
    for exponent, hub_first in ((0.0, True), (0.5, False)):
        model = CovisitationRecommender(window=4, popularity_exponent=exponent).fit(data)
        scores = model.score_history(history, np.ones(1, dtype=np.float32))
        scores[history] = -np.inf
        assert (model.item_ids[int(np.argmax(scores))] == HUB) is hub_first


def test_pairs_further_apart_than_the_window_do_not_count_and_nearer_ones_weigh_more() -> None:
    rows = [("u", item, "click", float(t)) for t, item in enumerate(["a", "b", "c", "d", "e"])]
    data = Interactions.from_rows(rows, WEIGHTS)
    model = CovisitationRecommender(window=2, decay=0.5, popularity_exponent=0.0).fit(data)
    a = data.item_index("a")
    row = model.similarity[a].toarray().ravel()
    assert row[data.item_index("b")] == pytest.approx(1.0)
    assert row[data.item_index("c")] == pytest.approx(0.5)  # two steps: one decay
    assert row[data.item_index("d")] == 0.0 and row[data.item_index("e")] == 0.0
    assert row[a] == 0.0


def test_only_the_newest_liked_items_count_and_dislikes_are_ignored() -> None:
    data = _sessions()
    model = CovisitationRecommender(window=4, recent=1).fit(data)
    old, new, disliked = (data.item_index(item) for item in ("i000", "i020", "i040"))
    both = model.score_history(np.array([old, new, disliked]), np.array([1.0, 1.0, -2.0], dtype=np.float32))
    newest = model.score_history(np.array([new]), np.ones(1, dtype=np.float32))
    np.testing.assert_allclose(both, newest)


def test_neighbours_are_capped_and_the_model_round_trips(tmp_path: Path) -> None:
    data = _sessions()
    model = CovisitationRecommender(window=30, neighbours=3).fit(data)
    assert np.diff(model.similarity.indptr).max() <= 3
    model.save(tmp_path / "covisitation")
    loaded = CovisitationRecommender.load(tmp_path / "covisitation")
    users = np.arange(data.n_users)
    np.testing.assert_allclose(loaded.score_users(users), model.score_users(users))
    assert loaded.config() == model.config()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        CovisitationRecommender(window=0)
    with pytest.raises(ValueError, match="decay"):
        CovisitationRecommender(decay=1.5)


def test_pairs_are_counted_one_distance_at_a_time_to_the_known_weights() -> None:
    """a b c a: a-b and b-c and c-a at distance 1 (1 each), a-c and b-a at distance 2 (decay
    each), a-a at distance 3 (not its own neighbour); both directions, summed over users."""
    model = CovisitationRecommender(window=3, decay=0.5)
    counts = model._pair_counts([np.array([0, 1, 2, 0]), np.array([1, 2])], 3).toarray()
    expected = np.zeros((3, 3), dtype=np.float32)
    for first, second, weight in [
        (0, 1, 1.0),
        (1, 2, 1.0),
        (2, 0, 1.0),
        (0, 2, 0.5),
        (1, 0, 0.5),
        (1, 2, 1.0),
    ]:
        expected[first, second] += weight
        expected[second, first] += weight
    assert np.allclose(counts, expected)


def test_counting_a_block_of_items_at_a_time_gives_the_same_neighbours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 10M events every pair at once took GBs, so a large log is counted a block of items
    at a time (each item's total first): the kept neighbours and their weights do not change."""
    data = _sessions()
    whole = CovisitationRecommender(window=6, neighbours=3).fit(data)
    monkeypatch.setattr(covisitation, "PAIR_BLOCK", 500)  # about 5 items' pairs a block
    pairs = covisitation._Pairs(whole.sequences, 6, 0.9)
    blocks = pairs.row_blocks(data.n_items, 500)
    assert len(blocks) > 3 and blocks[0][0] == 0 and blocks[-1][1] == data.n_items
    assert all(stop == start for (_, stop), (start, _) in itertools.pairwise(blocks))
    blocked = CovisitationRecommender(window=6, neighbours=3).fit(data)
    assert np.array_equal(blocked.similarity.indptr, whole.similarity.indptr)
    assert np.array_equal(blocked.similarity.indices, whole.similarity.indices)
    assert np.array_equal(blocked.similarity.data, whole.similarity.data)
    # each session item's strongest neighbours are its own session's items
    first = whole.item_ids.index("i000")
    assert set(_ids(whole, whole.similarity[first].indices)) <= {"i001", "i002", "i003", HUB}


def test_retrieval_reads_only_the_latest_likes_pairs_and_matches_the_full_scores() -> None:
    """A page's retrieval sums the latest likes' stored pairs, not every item: the same items,
    order and scores as the best of the full score row, ties by index, no zero-evidence item."""
    from homefeed.models.base import UserQuery, best

    data = _sessions(n_users=120, seed=3)
    model = CovisitationRecommender(window=4, recent=3).fit(data)
    rng = np.random.default_rng(1)
    for trial in range(30):
        items = rng.choice(model.n_items, size=int(rng.integers(0, 6)))  # repeats allowed
        weights = rng.choice([1.0, 2.0, -2.0], size=len(items))
        allowed = rng.random(model.n_items) > 0.3
        n = int(rng.integers(1, 15))
        found = model.retrieve(UserQuery(items, weights), allowed, n)
        expected, scores = best(model.score_history(items, weights), allowed, n)
        keep = scores > 0
        assert found.scores is not None
        assert found.indices.tolist() == expected[keep].tolist(), trial
        assert np.array_equal(found.scores, scores[keep]), trial
