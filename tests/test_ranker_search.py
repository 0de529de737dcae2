"""A vector source of the ranker over a large catalog: its head is searched in a vector index
instead of scoring every item, with the same features as scoring every item where the index
finds the same items; the index is saved with the ranker and forgets deleted items."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from homefeed.models import Interactions
from homefeed.models.base import UserQuery
from homefeed.ranking.features import EXACT_RANKS, SourceView, reference_items
from homefeed.ranking.ltr import SEARCHED_DIR, RankerRecommender
from homefeed.ranking.searched import SEARCHED_RECALL, SearchedSource
from homefeed.vectors.index import IndexConfig

EXACT = IndexConfig(hnsw_above=10**9)  # a flat index: the head it finds is the true one


def _clustered(n: int, dimension: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Item vectors in 50 clusters and a user vector near one of them."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dimension))
    vectors = centres[rng.integers(0, 50, n)] + 0.5 * rng.normal(size=(n, dimension))
    user = centres[7] + 0.5 * rng.normal(size=dimension)
    return vectors.astype(np.float32), user.astype(np.float32)


def test_a_searched_head_gives_the_features_scoring_every_item_gives() -> None:
    n = 3 * EXACT_RANKS
    vectors, user = _clustered(n)
    reference = reference_items(n)
    assert reference is not None
    blocked = np.zeros(n, dtype=bool)
    values = vectors.astype(np.float64) @ user.astype(np.float64)
    best = np.argsort(-values)
    blocked[best[[0, 3, 10]]] = True  # seen: the three never come back
    gone = np.zeros(n, dtype=bool)
    gone[best[5]] = True  # forgotten: never found either
    searched = SearchedSource.build(vectors, reference, gone, EXACT)
    view = searched.view(user, blocked, per_source=100)
    dense = SourceView.of(np.where(gone, -np.inf, values), blocked, per_source=100, reference=reference)
    assert view is not None and dense is not None
    assert len(view.head) == 256 and len(view.top) == 100 and view.stride == dense.stride
    assert set(view.top.tolist()) == set(dense.top.tolist())
    assert not set(view.top.tolist()) & set(best[[0, 3, 5, 10]].tolist())
    assert view.mean == dense.mean and view.std == dense.std  # the same reference items
    # ranked exactly through the head; below it, from the same ladder as scoring every item
    rankable = values[~blocked & ~gone]
    items = np.concatenate([best[[1, 2, 4]], best[100:250], best[2000:2100], best[-5:]])
    exact = np.array([(rankable > values[item]).sum() for item in items])
    ranks = view.ranks(items)
    assert ranks[:153].tolist() == exact[:153].tolist()
    assert np.abs(np.log1p(ranks[153:]) - np.log1p(exact[153:])).max() < 0.1
    np.testing.assert_allclose(view.scores(items), values[items], rtol=1e-5)


def test_an_hnsw_index_finds_most_of_the_head() -> None:
    """Above ``hnsw_above`` items the index may be a graph (here of lifted vectors, which finds
    more of these clusters' best than the plain one): approximate, but it finds most of the best
    items, and every item it finds is allowed."""
    n = 4 * EXACT_RANKS
    vectors, user = _clustered(n, seed=1)
    reference = reference_items(n)
    assert reference is not None
    searched = SearchedSource.build(
        vectors, reference, np.zeros(n, dtype=bool), IndexConfig(hnsw_above=1_000, lifted=True)
    )
    assert searched.index.kind == "hnsw"
    blocked = np.zeros(n, dtype=bool)
    blocked[::7] = True
    view = searched.view(user, blocked, per_source=100)
    assert view is not None and not blocked[view.top].any()
    truth = np.argsort(-np.where(blocked, -np.inf, vectors @ user))[:100]
    assert len(set(view.top.tolist()) & set(truth.tolist())) >= 90


def test_each_source_keeps_the_index_that_finds_its_users_heads_or_else_scores_every_item() -> None:
    """The index that finds most of sampled users' best 256 is kept when it finds at least
    ``SEARCHED_RECALL`` of them; when none does (here a degenerate graph degree and one probed
    list) or there are no users to sample, the source scores every item instead."""
    n = 2 * EXACT_RANKS
    vectors, _ = _clustered(n, seed=1)
    rng = np.random.default_rng(2)
    queries = (vectors[rng.integers(0, n, 20)] + 0.3 * rng.normal(size=(20, 16))).astype(np.float32)
    reference, gone = reference_items(n), np.zeros(n, dtype=bool)
    assert reference is not None
    source, choice = SearchedSource.chosen(
        vectors, reference, gone, queries, 256, IndexConfig(hnsw_above=1_000)
    )
    assert source is not None and source.index is choice.index and choice.found >= SEARCHED_RECALL
    assert set(choice.recall) == {"plain", "lifted", "lifted-ivf"}
    view = source.view(queries[0], np.zeros(n, dtype=bool), per_source=100)
    truth = np.argsort(-(vectors @ queries[0]))[:100]
    assert view is not None and len(set(view.top.tolist()) & set(truth.tolist())) >= 98
    poor = IndexConfig(hnsw_above=1_000, hnsw_neighbours=4, ef_construction=8, ivf_probes=1)
    source, choice = SearchedSource.chosen(vectors, reference, gone, queries, 256, poor)
    assert source is None and choice.found < SEARCHED_RECALL and len(choice.widened) > 1
    assert SearchedSource.chosen(vectors, reference, gone, None, 256, EXACT)[0] is None


def _large(n_items: int = EXACT_RANKS + 4_000) -> Interactions:
    """Two groups of users, each picking among its own 30 items, in a catalog of thousands."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(120):
        own = range(0, 30) if user % 2 == 0 else range(30, 60)
        picks = rng.choice(list(own), 12, replace=False).tolist()
        rows += [(f"u{user:03d}", f"i{item:05d}", "click", float(step)) for step, item in enumerate(picks)]
    return Interactions.from_rows(rows, {"click": 1.0}, [f"i{i:05d}" for i in range(n_items)])


def test_a_ranker_saves_its_vector_sources_indexes_and_they_forget_deleted_items(tmp_path: Path) -> None:
    data = _large()
    sources = {"als": {"factors": 8, "iterations": 10}, "popularity": {"half_life_days": None}}
    ranker = RankerRecommender(sources=sources, per_source=20, n_estimators=50, seed=0).fit(data)
    liked = data.sequences()[data.user_index("u000")][0]
    user = UserQuery(liked, np.ones(len(liked), dtype=np.float32))
    allowed = np.ones(data.n_items, dtype=bool)
    found = ranker.retrieve(user, allowed, 20)
    ranker.save(tmp_path / "ranker")
    assert (tmp_path / "ranker" / SEARCHED_DIR / "als" / "index.json").is_file()
    assert not (tmp_path / "ranker" / SEARCHED_DIR / "popularity").exists()  # no vectors to search
    report = json.loads((tmp_path / "ranker" / "report.json").read_text())
    assert report["indexes"]["als"]["searched"] and report["indexes"]["als"]["index"] == "exact"

    loaded = RankerRecommender.load(tmp_path / "ranker")
    assert set(loaded._searched) == {"als"}  # read from disk, not built again
    again = loaded.retrieve(user, allowed, 20)
    assert again.indices.tolist() == found.indices.tolist()
    np.testing.assert_allclose(again.features, found.features, rtol=1e-5)

    mine = [int(item) for item in found.indices.tolist() if int(item) < 30]  # the group's own items
    assert mine, found.indices
    forgotten = data.item_ids[mine[0]]
    assert loaded.forget(users=[], items=[forgotten])
    after = loaded.retrieve(user, allowed, 20)
    assert mine[0] not in after.indices.tolist()
    searched = loaded._searched["als"][1]
    assert (
        searched is not None and searched.gone[mine[0]] and not searched.index.vectors([str(mine[0])]).any()
    )

    # a source whose index found too little at training scores every item, loaded as it was saved
    report["indexes"]["als"]["searched"] = False
    (tmp_path / "ranker" / "report.json").write_text(json.dumps(report))
    dense = RankerRecommender.load(tmp_path / "ranker")
    assert dense._searched["als"][1] is None
    assert dense.retrieve(user, allowed, 20).indices.tolist() == found.indices.tolist()
    del report["indexes"]  # a ranker saved before the choice was recorded: no index chosen at a page
    (tmp_path / "ranker" / "report.json").write_text(json.dumps(report))
    assert RankerRecommender.load(tmp_path / "ranker")._searched["als"][1] is None
