"""The LightGBM ranker over several sources: learns from held-out later items, ranks the
planted answer first, explains itself through feature importances, and round-trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from homefeed.config import SequentialSettings, Settings
from homefeed.homepage import HomepagePipeline
from homefeed.live.catalog import Catalog
from homefeed.live.clock import FixedClock
from homefeed.models import Interactions
from homefeed.models.base import UserQuery
from homefeed.models.context import RequestContext
from homefeed.ranking.categories import CategoryStats
from homefeed.ranking.context import ContextStats, contexts_of
from homefeed.ranking.features import (
    EXACT_RANKS,
    ItemStats,
    SourceView,
    candidate_features,
    candidates_from,
    feature_list,
    reference_items,
    source_views,
)
from homefeed.ranking.ltr import RankerRecommender
from homefeed.service import create_app
from homefeed.store import Store
from homefeed.training.trainer import train_bundle

from .conftest import load_folder

SOURCES = {"als": {"factors": 8, "iterations": 10}, "itemknn": {}, "popularity": {"half_life_days": None}}


def _groups(n_users: int = 160, seed: int = 0) -> Interactions:
    """Even users pick among items 0-29, odd users among 30-59, in random order; items 60-69
    are popular with everyone early on (so popularity alone is a wrong answer later)."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        own = range(0, 30) if user % 2 == 0 else range(30, 60)
        early = rng.choice(range(60, 70), 4, replace=False).tolist()
        picks = early + rng.choice(list(own), 12, replace=False).tolist()
        rows += [(f"u{user:03d}", f"i{item:02d}", "click", float(step)) for step, item in enumerate(picks)]
    return Interactions.from_rows(rows, {"click": 1.0}, [f"i{i:02d}" for i in range(70)])


def test_features_have_names_defaults_and_one_row_per_candidate() -> None:
    data = _groups()
    stats = ItemStats.from_data(data)
    scores = {"a": np.arange(70, dtype=np.float64), "b": -np.arange(70, dtype=np.float64)}
    blocked = np.zeros(70, dtype=bool)
    blocked[[69, 0]] = True
    views = source_views(scores, blocked, per_source=3)
    candidates = candidates_from(views)
    assert candidates.tolist() == [1, 2, 3, 66, 67, 68]
    none, no_context = CategoryStats.empty(70), ContextStats.empty(70)
    features = candidate_features(views, candidates, np.array([0, 69]), stats, 3, none, no_context)
    names = [feature.name for feature in feature_list(["a", "b"])]
    assert features.shape == (6, len(names)) and names[:4] == ["a_z", "a_log_rank", "b_z", "b_log_rank"]
    assert features[candidates.tolist().index(68), names.index("a_log_rank")] == 0.0  # a's best
    assert features[:, names.index("sources")].tolist() == [1.0] * 6
    assert features[:, names.index("text_to_history")].tolist() == [0.0] * 6  # no text: the default
    assert features[:, names.index("category_affinity")].tolist() == [0.0] * 6  # no categories
    defaults = {feature.name: feature.default for feature in feature_list(["a", "b"])}
    for name in ("hour_of_day", "device_lift", "item_age", "interests_match"):  # no context
        assert features[:, names.index(name)].tolist() == [defaults[name]] * 6


def test_the_ranker_puts_the_planted_next_items_first_and_round_trips(tmp_path: Path) -> None:
    data = _groups()
    ranker = RankerRecommender(sources=SOURCES, per_source=20, n_estimators=100, holdout=3).fit(data)
    assert set(ranker.report["importance"]) == set(ranker.feature_names)
    assert ranker.report["training_users"] > 100
    sequences = data.sequences()
    hits = 0
    for user in range(0, 40):
        history = sequences[user][0]
        scores = ranker.score_histories([history])[0]
        scores[history] = -np.inf
        top = np.argsort(-scores)[:5]
        own = range(0, 30) if user % 2 == 0 else range(30, 60)
        hits += sum(int(item) in own for item in top)
    assert hits >= 0.9 * 40 * 5
    ranker.save(tmp_path / "ranker")
    loaded = RankerRecommender.load(tmp_path / "ranker")
    history = sequences[3][0]
    np.testing.assert_allclose(loaded.score_histories([history]), ranker.score_histories([history]))
    assert loaded.config() == ranker.config()


def test_the_ranker_learns_from_a_random_share_of_many_users() -> None:
    """Above ``max_training_users`` held-out users, a random draw of that many teaches the booster
    (each user's candidates cost a pass over the catalog), and it still learns the groups."""
    data = _groups(n_users=400)
    ranker = RankerRecommender(sources=SOURCES, per_source=20, n_estimators=100, max_training_users=60)
    ranker.fit(data)
    assert ranker.report["held_out_users"] == 400
    assert 40 <= ranker.report["training_users"] <= 60
    sequences = data.sequences()
    hits = 0
    for user in range(0, 40):
        scores = ranker.score_histories([sequences[user][0]])[0]
        scores[sequences[user][0]] = -np.inf
        own = range(0, 30) if user % 2 == 0 else range(30, 60)
        hits += sum(int(item) in own for item in np.argsort(-scores)[:5])
    assert hits >= 0.9 * 40 * 5
    drawn = RankerRecommender(sources=SOURCES, max_training_users=60)._training_users(list(range(400)))
    assert drawn == sorted(set(drawn)) and len(drawn) == 60 and drawn != list(range(60))


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_trained_ranker_leads_the_homepage(store: Store, tmp_path: Path, synth_folder: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=str(store.engine.url.render_as_string(hide_password=False)),
        sequential=SequentialSettings(hidden=32, layers=1, max_length=20, epochs=2, batch_size=64),
    )
    load_folder(store, settings, synth_folder)
    bundle = train_bundle(store, settings, ["popularity", "profile", "als", "ranker"])
    report = bundle.manifest["reports"]["ranker"]
    assert report["training_users"] > 100 and max(report["importance"].values()) > 0
    assert set(report["importance"]) >= {"sequential_z", "als_z", "text_to_history"}
    # the sources fitted on their own in this run, with the same options, are not fitted again
    # (the profile source weighs profiles differently, so it is the ranker's own)
    assert report["adopted_sources"] == ["als", "popularity"]
    parts = bundle.models["ranker"].parts()
    assert parts["als"] is bundle.models["als"] and parts["profile"] is not bundle.models["profile"]
    user = next(u for u in store.logs.sample_user_ids(20) if (found := store.get_user(u)) and found.interests)
    history = {event.item_id for event in store.logs.user_events(user, settings.history_length)}
    with TestClient(create_app(settings)) as client:
        page = client.get(f"/v1/users/{user}/homepage?n=10").json()
        explained = client.get(f"/v1/users/{user}/homepage?n=10&explain=true&device=TV&surface=app").json()
    assert page["items"][0]["details"] is None
    details = explained["items"][0]["details"]
    assert details["rank"] == 1.0
    assert {"score", "sequential_z", "als_log_rank", "log_popularity"} <= set(details)
    # the request's time and the user's stated interests reach the ranker's features
    assert 0 <= details["hour_of_day"] <= 7 and details["item_age"] > -20.0
    assert any(
        item["details"].get("interests_match", 0.0) > 0.0 for item in explained["items"] if item["details"]
    )
    assert page["degraded"] is False and page["items"][0]["source"] == "ranker"
    ranked = [item for item in page["items"] if item["source"] == "ranker"]
    assert len(ranked) >= 6  # the rest: stated interests, interleaved, and 2 exploration slots
    # each names the liked item whose removal lowers its score most, where one does
    named = [item for item in ranked if item["explanation"]["evidence"]]
    assert len(named) >= 0.6 * len(ranked)
    for item in named:
        assert set(item["explanation"]["evidence"]) <= history
        assert item["reason"].startswith("Because you liked")


def test_the_ranker_seeds_every_source_that_takes_a_seed_unless_the_source_names_its_own() -> None:
    tiny = {"hidden": 16, "layers": 1, "max_length": 10, "epochs": 1, "batch_size": 64}
    sources = {"sequential": tiny, "als": {"factors": 4, "iterations": 2, "seed": 11}, "itemknn": {}}
    ranker = RankerRecommender(sources=sources, per_source=10, n_estimators=5, seed=3)
    models = ranker._fit_sources(_groups(40), None)
    assert models["sequential"].config()["seed"] == 3  # its options are a config, not parameters
    assert models["als"].config()["seed"] == 11
    assert "seed" not in models["itemknn"].config()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_offline_and_online_features_agree_for_the_same_user_items_and_time(
    store: Store, tmp_path: Path, synth_folder: Path
) -> None:
    """One clock: the features training computes for a user at their latest event are the
    features a page computes for that user when its clock reads the same time."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=str(store.engine.url.render_as_string(hide_password=False)),
        sequential=SequentialSettings(hidden=16, layers=1, max_length=20, epochs=1, batch_size=64),
    )
    load_folder(store, settings, synth_folder)
    bundle = train_bundle(store, settings, ["ranker"])
    ranker = bundle.get("ranker")
    assert isinstance(ranker, RankerRecommender)
    data = Interactions.from_rows(store.logs.iter_event_rows(), settings.events, store.item_ids())
    data.profiles = {user.id: user for user in store.iter_users()}
    catalog = Catalog(store.iter_items())
    compared = 0
    for user_id in store.logs.sample_user_ids(12):
        profile = store.get_user(user_id)
        if profile is not None and profile.interests:
            continue  # stated interests are embedded by the page's text index: compared elsewhere
        user = data.user_index(user_id)
        assert user is not None
        (offline_context,) = contexts_of(data, [user])
        at = FixedClock(float(offline_context.time or 0.0))
        pipeline = HomepagePipeline(store, settings, catalog, bundle, clock=at)
        given = RequestContext(device=offline_context.device, surface=offline_context.surface)
        page = pipeline.build(user_id, 20, explain=True, context=given)
        ranked = [item for item in page.items if item.source == "ranker"]
        assert ranked, "the ranker leads this page"
        items = np.array([data.item_index(item.item_id) for item in ranked])
        everything, weights = data.sequences(positive_only=False)[user]
        disliked = everything[weights < 0]
        offline = ranker.features_of(data.sequences()[user][0], items, profile, offline_context, disliked)
        for item, expected in zip(ranked, offline, strict=True):
            assert item.details is not None
            online = {name: item.details[name] for name in ranker.feature_names}
            assert online == pytest.approx(expected, rel=1e-5, abs=1e-6), item.item_id
            compared += 1
    assert compared >= 20


def test_a_large_catalog_ranks_its_head_exactly_and_the_rest_within_a_few_per_cent() -> None:
    rng = np.random.default_rng(4)
    n = 5 * EXACT_RANKS
    values = rng.normal(size=n)
    blocked = np.zeros(n, dtype=bool)
    blocked[rng.choice(n, 500, replace=False)] = True
    values[rng.choice(n, 50, replace=False)] = -np.inf  # a source that cannot score some items
    reference = reference_items(n)
    assert reference is not None and len(reference) <= EXACT_RANKS // 2 + 1
    view = SourceView.of(values, blocked, per_source=200, reference=reference)
    assert view is not None and view.stride > 1
    rankable = values[~blocked & np.isfinite(values)]
    truth_order = np.argsort(-np.where(blocked, -np.inf, values))
    assert set(view.top.tolist()) == set(truth_order[:200].tolist())
    ranked = np.flatnonzero(~blocked & np.isfinite(values))
    items = np.concatenate([truth_order[:200], truth_order[1500:1600], rng.choice(ranked, 300)])
    exact = np.array([(rankable > values[item]).sum() for item in items])
    ranks = view.ranks(items)
    assert ranks[:300].tolist() == exact[:300].tolist()  # the head: exact, so "in the top" is too
    assert (ranks[200:] >= 200).all()
    # past the head, the feature (log rank) is a few per cent off at most
    assert np.abs(np.log1p(ranks[300:]) - np.log1p(exact[300:])).max() < 0.1
    # the mean and spread come from the reference items: within a few standard errors
    assert abs(view.mean - rankable.mean()) < 0.05 and abs(view.std - rankable.std()) < 0.05
    assert SourceView.of(values, blocked, per_source=200).ranks(items).tolist() == exact.tolist()


def test_a_rescoring_for_a_close_history_ranks_the_head_again_and_keeps_the_summary() -> None:
    """An explanation rescores a large catalog's view for a history one liked item shorter:
    only the best few hundred items and the page's are scored; those are ranked exactly
    again, and the rest is read off the first view's ladder."""
    rng = np.random.default_rng(5)
    n = 4 * EXACT_RANKS
    values = rng.normal(size=n)
    blocked = np.zeros(n, dtype=bool)
    blocked[rng.choice(n, 300, replace=False)] = True
    view = SourceView.of(values, blocked, per_source=100, reference=reference_items(n))
    assert view is not None and view.rescore_items is not None and len(view.rescore_items) == 256
    closer = values + rng.normal(scale=0.01, size=n)  # the close history's scores
    order = np.argsort(-np.where(blocked, -np.inf, closer))
    page = np.concatenate([order[:20], order[200:220], rng.choice(order[5000 : n - 300], 20)])
    known = np.union1d(view.rescore_items, page)
    again = view.rescored(closer[known], known, blocked)
    assert again.scores(page).tolist() == closer[page].tolist() and len(again.top) == 0
    rankable = closer[~blocked]
    exact = np.array([(rankable > closer[item]).sum() for item in page])
    ranks = again.ranks(page)
    assert ranks[:40].tolist() == exact[:40].tolist()
    assert np.abs(np.log1p(ranks[40:]) - np.log1p(exact[40:])).max() < 0.1
    assert (ranks[40:] >= 256).all()
    assert (again.mean, again.std, again.ladder) == (view.mean, view.std, view.ladder)
    assert reference_items(EXACT_RANKS) is None  # a smaller catalog is ranked exactly


def test_in_a_large_catalog_an_explanation_scores_every_item_once_and_gets_the_same_scores() -> None:
    """Past ``EXACT_RANKS`` items the ranker's explanation scores the whole history over every
    item once, and the histories one liked item shorter over the head's items and the page's
    only; the scores it reads are those that scoring every item for each history gives."""
    small = _groups()
    n_items = EXACT_RANKS + 4_000  # the planted 70 and thousands nobody picked
    rows = [
        (small.user_ids[user], f"i{int(small.item_ids[item][1:]):05d}", "click", float(moment))
        for user, item, moment in zip(small.users, small.items, small.timestamps, strict=True)
    ]
    data = Interactions.from_rows(rows, {"click": 1.0}, [f"i{i:05d}" for i in range(n_items)])
    ranker = RankerRecommender(sources=SOURCES, per_source=20, n_estimators=100, seed=0).fit(data)
    liked = data.sequences()[data.user_index("u000")][0]
    scores = ranker.score_histories([liked])[0]
    scores[liked] = -np.inf
    chosen = np.argsort(-scores)[:12]
    ones = np.ones(len(liked), dtype=np.float32)
    histories = [(liked, ones)] + [
        (np.delete(liked, at), ones[1:]) for at in range(len(liked) - 5, len(liked))
    ]
    none = [None] * len(histories)
    every = ranker._candidates([items for items, _ in histories], none, none, None, chosen)
    expected = np.vstack([ranker.booster.predict(features) for _, features in every])

    calls: list[int] = []
    for source in ranker.models.values():
        every_item = source.score_new_users

        def counted(found: list[np.ndarray], *args: object, every_item: Any = every_item) -> np.ndarray:
            calls.append(len(found))
            return np.asarray(every_item(found, *args))

        source.score_new_users = counted  # type: ignore[method-assign]
    rescored = ranker._scores_of(histories, chosen)
    # the whole history, once per source; ALS, which scores by vectors, searches its index
    assert calls == [1] * (len(ranker.models) - 1)
    np.testing.assert_allclose(rescored, expected, rtol=1e-6)
    anchors = ranker.anchors(liked, chosen)
    assert set(anchors.tolist()) <= {-1, *liked.tolist()}
    # a page's retrieval explains itself from its own pass: no more scoring of every item
    found = ranker.retrieve(UserQuery(liked, ones), np.ones(n_items, dtype=bool), 50)
    assert found.anchors is not None and len(calls) == 3 * (len(ranker.models) - 1)
    assert found.anchors(chosen).tolist() == anchors.tolist()
    assert len(calls) == 3 * (len(ranker.models) - 1)


def test_a_sparse_source_in_a_large_catalog_keeps_its_ties_out_of_the_head() -> None:
    """Item-to-item sources score most items 0: the head is the items above 0, the top is
    filled up with tied items, and a tied item ranks after every scored one."""
    n = 3 * EXACT_RANKS
    values = np.zeros(n)
    scored = np.arange(5, n, 997)[:40]  # 40 items with evidence, the rest tied at 0
    values[scored] = np.linspace(1.0, 2.0, len(scored))
    blocked = np.zeros(n, dtype=bool)
    blocked[scored[-1]] = True  # seen
    view = SourceView.of(values, blocked, per_source=100, reference=reference_items(n))
    assert view is not None and view.stride > 1 and len(view.head) == len(scored) - 1
    assert len(view.top) == 100 and set(scored[:-1].tolist()) <= set(view.top.tolist())
    assert view.ranks(scored[[-2]]).tolist() == [0] and view.ranks(np.array([1])).tolist() == [39]
