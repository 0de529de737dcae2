"""One contract, run against every registered model (as implicit's ``RecommenderBaseTestMixin``
runs against each of its models): fit on planted blocks, find the block, agree between
``recommend`` and the scores, score new users, retrieve for the page, round-trip through
save and load without pickle, and be listed by the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from homefeed.domain import Item, User
from homefeed.models.base import Recommender, UserQuery
from homefeed.models.context import RequestContext
from homefeed.models.data import Interactions
from homefeed.training.registry import MODEL_CLASSES, model_class

ITEMS_PER_BLOCK, USERS_PER_BLOCK, PICKS = 15, 40, 8
N_ITEMS = 2 * ITEMS_PER_BLOCK
TINY_TRANSFORMER = {"hidden": 16, "layers": 1, "heads": 1, "max_length": 10, "epochs": 6, "batch_size": 16}
# small, quick settings; the contract does not depend on them
OPTIONS: dict[str, dict[str, Any]] = {
    "als": {"factors": 8, "iterations": 10},
    "als-text": {"factors": 8, "iterations": 10},
    "bpr": {"factors": 8, "iterations": 100, "threads": 1},
    "sequential": TINY_TRANSFORMER,
    "ranker": {
        "sources": {"als": {"factors": 8, "iterations": 10}, "covisitation": {}, "popularity": {}},
        "per_source": 10,
        "n_estimators": 30,
        "early_stopping": 10,
    },
}
UNPERSONAL = {"popularity", "random"}  # they score every user alike: no block to find


def _block(item: int) -> int:
    return item // ITEMS_PER_BLOCK


def planted() -> Interactions:
    """Users of block b pick PICKS of block b's items in a random order; item texts and
    categories say which block an item is in, profiles which block a user is in."""
    rng = np.random.default_rng(0)
    rows = []
    for user in range(2 * USERS_PER_BLOCK):
        block = user // USERS_PER_BLOCK
        picks = rng.choice(
            range(block * ITEMS_PER_BLOCK, (block + 1) * ITEMS_PER_BLOCK), PICKS, replace=False
        )
        rows += [
            (f"u{user:03d}", f"i{item:02d}", "click", float(100 * user + step))
            for step, item in enumerate(picks)
        ]
    data = Interactions.from_rows(rows, {"click": 1.0}, [f"i{item:02d}" for item in range(N_ITEMS)])
    text = rng.normal(0.0, 0.1, size=(N_ITEMS, 8)).astype(np.float32)
    text[np.arange(N_ITEMS), [_block(item) for item in range(N_ITEMS)]] += 1.0
    data.item_text = text
    data.item_fields = [
        Item(id=f"i{item:02d}", title=f"Item {item}", category=f"block-{_block(item)}")
        for item in range(N_ITEMS)
    ]
    data.profiles = {
        user_id: User(id=user_id, gender="f" if int(user_id[1:]) < USERS_PER_BLOCK else "m", age=30)
        for user_id in data.user_ids
    }
    return data


@pytest.fixture(scope="module")
def data() -> Interactions:
    return planted()


@pytest.fixture(scope="module", params=sorted(MODEL_CLASSES))
def fitted(request: pytest.FixtureRequest, data: Interactions) -> Recommender:
    name: str = request.param
    return model_class(name)(**OPTIONS.get(name, {})).fit(data)


def _history(data: Interactions, user: int) -> np.ndarray:
    items, _ = data.sequences()[user]
    return items


def test_the_registry_lists_every_model_by_its_name() -> None:
    for name, cls in MODEL_CLASSES.items():
        assert cls.name == name and model_class(name) is cls
    with pytest.raises(ValueError, match="unknown model 'telepathy'; expected one of"):
        model_class("telepathy")


def test_the_config_is_the_declared_keys_and_makes_the_model_again(fitted: Recommender) -> None:
    config = fitted.config()
    assert list(config) == list(fitted.config_keys)
    assert all(fitted.accepts(key) for key in config) and not fitted.accepts("no_such_option")
    json.dumps(config)  # saved as JSON
    assert type(fitted)(**config).config() == config


def test_recommend_and_the_scores_agree(fitted: Recommender, data: Interactions) -> None:
    users = ["u003", "u050"]
    recommended = fitted.recommend(users, 5)
    scores = np.asarray(fitted.score_users(np.array([data.user_index(u) for u in users])), dtype=np.float64)
    assert scores.shape == (2, N_ITEMS)
    for row, found in enumerate(recommended):
        assert len(found) == 5
        values = [score for _, score in found]
        assert values == sorted(values, reverse=True)
        best = np.sort(scores[row][np.isfinite(scores[row])])[::-1][:5]
        if fitted.name != "random":  # random scores again on every call
            assert np.allclose(values, best)


def test_a_user_is_recommended_their_own_block(fitted: Recommender, data: Interactions) -> None:
    if fitted.name in UNPERSONAL:
        pytest.skip("scores every user alike")
    for user_id in ("u007", "u061"):
        user = data.user_index(user_id)
        assert user is not None
        seen = {data.item_ids[i] for i in _history(data, user)}
        found = fitted.recommend([user_id], 4, exclude=[seen])[0]
        own = _block(data.item_index(found[0][0]) or 0) == user // USERS_PER_BLOCK
        in_block = sum(_block(data.item_index(item) or 0) == user // USERS_PER_BLOCK for item, _ in found)
        assert own and in_block >= 3, (fitted.name, user_id, found)


def test_a_new_user_is_scored_from_a_fresh_history(fitted: Recommender) -> None:
    history = np.array([ITEMS_PER_BLOCK + 1, ITEMS_PER_BLOCK + 2, ITEMS_PER_BLOCK + 4])  # block 1
    context = RequestContext(time=10_000.0)
    scores = np.asarray(fitted.score_new_users([history], [User(id="new", gender="m")], [context]))
    assert scores.shape == (1, N_ITEMS) and np.isfinite(scores).any()
    if fitted.name in UNPERSONAL:
        return
    ranked = [item for item in np.argsort(-scores[0], kind="stable").tolist() if item not in history.tolist()]
    assert sum(_block(item) == 1 for item in ranked[:3]) >= 2, (fitted.name, ranked[:5])


def test_scoring_a_few_items_gives_their_scores_among_every_item(fitted: Recommender) -> None:
    """What a ranker reads of a large catalog when it rescores a page: the same scores."""
    if fitted.name == "random":
        pytest.skip("draws new scores on every call")
    histories = [np.array([ITEMS_PER_BLOCK + 1, ITEMS_PER_BLOCK + 2]), np.array([0, 3, 5, 7])]
    profiles = [User(id="new", gender="m"), None]
    items = np.array([9, 0, ITEMS_PER_BLOCK + 3, N_ITEMS - 1])  # in no order
    every = np.asarray(fitted.score_new_users(histories, profiles))
    some = np.asarray(fitted.score_new_users_at(histories, profiles, items))
    np.testing.assert_allclose(some, every[:, items], rtol=1e-5, atol=1e-6, err_msg=fitted.name)


def test_new_user_vectors_times_the_item_vectors_are_the_scores(fitted: Recommender) -> None:
    """What lets a ranker search a vector source's best items in an index: a model with user
    vectors scores by their inner products with its item vectors, and no other model has them."""
    histories = [np.array([ITEMS_PER_BLOCK + 1, ITEMS_PER_BLOCK + 2]), np.array([0, 3, 5, 7])]
    profiles = [User(id="new", gender="m"), None]
    users = fitted.new_user_vectors(histories, profiles)
    if users is None:
        assert not fitted.scores_by_vectors or fitted.reads_request, fitted.name
        return
    vectors = fitted.item_vectors()
    assert fitted.scores_by_vectors and vectors is not None and users.shape == (2, vectors.shape[1])
    every = np.asarray(fitted.score_new_users(histories, profiles))
    np.testing.assert_allclose(users @ vectors.T, every, rtol=1e-4, atol=1e-5, err_msg=fitted.name)


def test_retrieve_proposes_allowed_items_best_first(fitted: Recommender) -> None:
    liked = np.array([1, 2, 3])
    user = UserQuery(liked, np.ones(3, dtype=np.float32), None, RequestContext(time=10_000.0))
    allowed = np.ones(N_ITEMS, dtype=bool)
    allowed[liked] = False
    allowed[[0, 5]] = False
    found = fitted.retrieve(user, allowed, 6)
    assert len(found.indices) > 0 and allowed[found.indices].all()
    if found.scores is None:  # a ranker: every candidate, scored from its features on the page
        assert found.features is not None and found.features.shape == (
            len(found.indices),
            len(fitted.feature_names),
        )
        scores = fitted.score_features(found.features)
        assert scores.shape == (len(found.indices),) and np.isfinite(scores).all()
        return
    assert len(found.indices) <= 6 and len(found.scores) == len(found.indices)
    assert list(found.scores) == sorted(found.scores, reverse=True)
    with pytest.raises(NotImplementedError):
        fitted.score_features(np.zeros((1, 1)))


def test_anchors_name_liked_items_or_none(fitted: Recommender) -> None:
    liked, chosen = np.array([1, 2, 20]), np.array([4, 6, 25])
    anchors = fitted.anchors(liked, chosen)
    assert len(anchors) == len(chosen) and set(anchors.tolist()) <= {-1, 1, 2, 20}


def test_save_and_load_give_the_same_scores_without_pickle(
    fitted: Recommender, data: Interactions, tmp_path: Path
) -> None:
    fitted.save(tmp_path / fitted.name)
    loaded = type(fitted).load(tmp_path / fitted.name)
    assert loaded.config() == fitted.config() and loaded.item_ids == fitted.item_ids
    assert not list((tmp_path / fitted.name).rglob("*.pkl")) and not list(
        (tmp_path / fitted.name).rglob("*.pickle")
    )
    for arrays in (tmp_path / fitted.name).rglob("*.npz"):
        with np.load(arrays, allow_pickle=False) as stored:
            assert all(stored[key] is not None for key in stored.files)
    if fitted.name == "random":
        return
    history = _history(data, 3)
    before = fitted.score_history(history, np.ones(len(history), dtype=np.float32))
    after = loaded.score_history(history, np.ones(len(history), dtype=np.float32))
    assert np.allclose(before, after, equal_nan=True)


def _saved_arrays(folder: Path) -> dict[str, np.ndarray]:
    """Every array a saved model holds (npz and safetensors), by file and key."""
    from safetensors.numpy import load_file

    found: dict[str, np.ndarray] = {}
    for path in folder.rglob("*.npz"):
        with np.load(path, allow_pickle=False) as stored:
            found.update({f"{path.name}:{key}": stored[key] for key in stored.files})
    for path in folder.rglob("*.safetensors"):
        found.update({f"{path.name}:{key}": value for key, value in load_file(str(path)).items()})
    return found


def _mentions(folder: Path, text: str) -> list[str]:
    """Files under ``folder`` whose bytes hold ``text`` (as UTF-8, or UTF-32 as numpy saves strings)."""
    needles = (text.encode(), text.encode("utf-32-le"))
    return [
        str(path)
        for path in folder.rglob("*")
        if path.is_file() and any(n in path.read_bytes() for n in needles)
    ]


def test_forgetting_deleted_users_and_items_leaves_no_trace_in_the_saved_model(
    fitted: Recommender, data: Interactions, tmp_path: Path
) -> None:
    fitted.save(tmp_path / "before")
    model = type(fitted).load(tmp_path / "before")
    gone, item, also = ["u005", "u066"], "i07", "i08"
    if model.user_ids:
        held = model.held_about("u005")
        assert held is not None and json.dumps(held)
    others = ["u050", "u061"]  # of the other block: their histories never held the item
    kept = np.array([model.user_index(user) for user in others])
    before = np.asarray(model.score_users(kept), dtype=np.float64) if model.name != "random" else None
    assert model.forget(users=gone, items=[item, also]) is True or not model.user_ids
    model.save(tmp_path / "after")
    assert not _mentions(tmp_path / "after", "u005") and not _mentions(tmp_path / "after", "u066")
    assert not _mentions(tmp_path / "after", item)
    assert model.held_about("u005") is None and model.user_index("u005") is None
    n_users = len(data.user_ids)  # 80: every array kept per user had n_users (or n_users + 1) rows
    per_user = [
        key
        for key, array in _saved_arrays(tmp_path / "after").items()
        if array.shape[:1] in ((n_users,), (n_users + 1,))
    ]
    assert not per_user, (model.name, per_user)
    vectors = model.item_vectors()
    if vectors is not None:  # blank rows: the two items' vectors hold nothing of their own
        assert np.array_equal(vectors[data.item_index(item) or 0], vectors[data.item_index(also) or 0])
    if before is not None:  # the others keep their own rows and scores
        after = np.asarray(model.score_users(np.array([model.user_index(user) for user in others])))
        columns = ~np.isin(np.arange(N_ITEMS), [data.item_index(item), data.item_index(also)])
        assert np.allclose(before[:, columns], after[:, columns], atol=1e-5), model.name


def test_the_liked_item_an_explanation_names_is_one_whose_removal_lowers_the_score(
    fitted: Recommender, data: Interactions
) -> None:
    if fitted.name in UNPERSONAL:
        pytest.skip("scores every user alike")
    lowered, named = 0, 0
    for user in (3, 12, 47, 70):
        liked = _history(data, user)
        weights = np.ones(len(liked), dtype=np.float32)
        scores = np.asarray(fitted.score_history(liked, weights), dtype=np.float64)
        scores[liked] = -np.inf
        chosen = np.argsort(-scores, kind="stable")[:5]
        for item, anchor in zip(
            chosen.tolist(), fitted.anchors(liked, chosen, weights).tolist(), strict=True
        ):
            if anchor < 0:
                continue
            assert anchor in liked.tolist()
            without = liked[liked != anchor]
            after = np.asarray(fitted.score_history(without, np.ones(len(without), dtype=np.float32)))[item]
            named += 1
            lowered += after < scores[item]
    assert named >= 4 and lowered >= 0.9 * named, (fitted.name, lowered, named)
