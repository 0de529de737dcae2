"""Items nobody has interacted with yet, placed in the behaviour model's space by their text and
metadata: the map saved with a version, and the ``new-items`` homepage source (real MiniLM)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.datasets.synth import load_ground_truth
from homefeed.domain import Item, ItemFields
from homefeed.homepage.sources import NewItemsSource
from homefeed.live.new_items import NewItemVectors
from homefeed.models.als import AlsRecommender
from homefeed.models.data import Interactions
from homefeed.models.new_items import NEW_ITEMS_DIR, NewItemMap, fit_new_item_map
from homefeed.models.sequential import SequentialRecommender
from homefeed.service import create_app
from homefeed.store import Store
from homefeed.training.versions import latest_version_path, load_bundle
from homefeed.understanding.item_map import ItemVectorMap

SPACE_DOC = {
    "title": "Astronaut, Rocket and Telescope: a Mars Orbit",
    "text": "A documentary about the nebula, the comet and the moon: rockets, planets "
    "and the people who explore them.",
}


def _two_groups() -> Interactions:
    """Users u0-u19 like items 0-19 when even, 20-39 when odd (events at seconds 0-19); items
    40-44 have no events and a tag naming their group (even: group 0); text says nothing.
    Items 40-43 were published a day before the events, item 44 a year before them."""
    rows = [
        (f"u{user:02d}", f"i{item:02d}", "click", float(step))
        for user in range(20)
        for step, item in enumerate(range(20 * (user % 2), 20 * (user % 2) + 20))
        if (item + user) % 3
    ]
    data = Interactions.from_rows(rows, {"click": 1.0}, [f"i{item:02d}" for item in range(45)])
    data.item_text = np.random.default_rng(0).normal(0, 0.1, (45, 8)).astype(np.float32)
    data.item_fields = []
    for item_id in data.item_ids:
        number = int(item_id[1:])
        group = number // 20 if number < 40 else number % 2
        published = None if number < 40 else -86_400.0 if number < 44 else -365 * 86_400.0
        data.item_fields.append(ItemFields(title=item_id, tags=[f"group-{group}"], published_at=published))
    return data


def test_the_map_places_untouched_items_with_their_group_and_survives_saving(tmp_path: Path) -> None:
    data = _two_groups()
    als = AlsRecommender(factors=8, regularization=0.05, iterations=20, seed=1).fit(data)
    mapped = fit_new_item_map({"als": als}, data)
    assert mapped is not None and mapped.model == "als"
    assert mapped.item_ids == ("i40", "i41", "i42", "i43")  # not i44: too old to be news
    np.testing.assert_allclose(
        mapped.mean, als.item_factors[:40].mean(axis=0), rtol=1e-5, atol=1e-7
    )  # learned only
    for user in range(20):
        vector = als.user_vector(*_history(data, user))
        best = mapped.item_ids[int(np.argmax(mapped.vectors @ vector))]
        assert int(best[1:]) % 2 == user % 2  # the user's own group's new item wins
    mapped.save(tmp_path / NEW_ITEMS_DIR)
    loaded = NewItemMap.load(tmp_path / NEW_ITEMS_DIR)
    assert loaded.item_ids == mapped.item_ids and loaded.model == "als"
    np.testing.assert_allclose(loaded.vectors, mapped.vectors)
    np.testing.assert_allclose(loaded.covariance, mapped.covariance)
    cold = [40, 41, 42, 43]
    np.testing.assert_allclose(
        loaded.item_map.map(data.item_text[cold], [data.item_fields[i] for i in cold]),
        mapped.vectors,
        rtol=1e-5,
    )
    assert fit_new_item_map({"popularity": als}, data) is None  # no behaviour space to map into
    every = fit_new_item_map({"als": als}, data, recent_days=None)
    assert every is not None and every.item_ids[-1] == "i44"


def test_without_als_new_items_are_mapped_into_the_transformers_space() -> None:
    data = _two_groups()
    options = {"hidden": 8, "layers": 1, "heads": 1, "epochs": 1, "max_length": 10, "seed": 0}
    sequential = SequentialRecommender(**options).fit(data)
    mapped = fit_new_item_map({"sequential": sequential, "popularity": sequential}, data)
    assert mapped is not None and mapped.model == "sequential"
    assert mapped.vectors.shape == (4, 8)


def _history(data: Interactions, user: int) -> tuple[np.ndarray, np.ndarray]:
    items = data.items[data.users == user]
    return items, np.ones(len(items), dtype=np.float32)


@pytest.fixture
def served(trained: tuple[Store, Settings], synth_folder: Path) -> Iterator[tuple[TestClient, dict, Store]]:
    store, settings = trained
    with TestClient(create_app(settings)) as client:
        yield client, load_ground_truth(synth_folder), store


def _fans(truth: dict, topic: int) -> tuple[list[str], list[str]]:
    prefs = truth["user_preferences"]
    lovers = [user for user, p in prefs.items() if int(np.argmax(p)) == topic and max(p) > 0.5]
    haters = [user for user, p in prefs.items() if int(np.argmin(p)) == topic]
    return lovers[:10], haters[:10]


def _new_items(client: TestClient, user: str) -> list[dict]:
    page = client.get(f"/v1/users/{user}/homepage?n=20").json()
    assert page["degraded"] is False
    return [item for item in page["items"] if item["source"] == "new-items"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_item_created_after_training_is_scored_by_behaviour_for_its_fans_only(
    served: tuple[TestClient, dict, Store],
) -> None:
    client, truth, store = served
    space = truth["topics"][0]["category"]
    assert client.put("/v1/items/new-space-doc", json={**SPACE_DOC, "category": space}).status_code == 200
    lovers, haters = _fans(truth, 0)
    reached = 0
    for user in lovers:
        picks = [item for item in _new_items(client, user) if item["item_id"] == "new-space-doc"]
        if not picks:
            continue
        reached += 1
        (anchor,) = picks[0]["explanation"]["evidence"]  # a liked item of the same topic
        assert anchor in {event.item_id for event in store.logs.user_events(user, 10_000)}
        assert client.get(f"/v1/items/{anchor}").json()["category"] == space
        assert picks[0]["reason"].startswith("New, for fans of ")
    assert reached >= 8
    explained = [
        item["details"]
        for user in lovers
        for item in client.get(f"/v1/users/{user}/homepage?n=20&explain=true").json()["items"]
        if item["source"] == "new-items"
    ]
    assert explained and all(d["standardized"] >= 0.0 and d["rank"] in (1.0, 2.0) for d in explained)
    assert not any(item["item_id"] == "new-space-doc" for user in haters for item in _new_items(client, user))
    assert client.delete("/v1/items/new-space-doc").status_code == 204
    assert not any(item["item_id"] == "new-space-doc" for item in _new_items(client, lovers[0]))


def test_a_restarted_service_maps_the_items_created_since_training(
    trained: tuple[Store, Settings], synth_folder: Path
) -> None:
    """On SQLite and PostgreSQL: the items are read back from the store at start-up."""
    _store, settings = trained
    space = load_ground_truth(synth_folder)["topics"][0]["category"]
    version = latest_version_path(settings.effective_models_dir)
    assert version is not None and (version / NEW_ITEMS_DIR / "map.npz").exists()
    with TestClient(create_app(settings)) as client:
        assert client.put("/v1/items/new-space-doc", json={**SPACE_DOC, "category": space}).status_code == 200
    with TestClient(create_app(settings)) as client:  # a new process: the item is read back
        vectors = client.app.state.runtime.homepages.new_vectors  # type: ignore[attr-defined]
        bundle = load_bundle(version)
        assert bundle.new_items is not None
        ids, table = vectors.snapshot()
        assert set(ids) == {*bundle.new_items.item_ids, "new-space-doc"}
        assert table.shape == (len(ids), bundle.get("als").factors)  # type: ignore[union-attr]


def test_new_item_vectors_standardize_scores_and_replace_rewritten_items() -> None:
    learned = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # mean 0, variance 2/3 each
    identity = ItemVectorMap(np.eye(3, 2, dtype=np.float32))
    mapped = NewItemMap(
        "als", identity, ("a",), np.ones((1, 2), np.float32), learned.mean(0), np.cov(learned.T)
    )
    vectors = NewItemVectors("v1", mapped, {"known"})
    user = np.array([1.0, 0.0])
    np.testing.assert_allclose(vectors.standardized(np.array([np.sqrt(2 / 3), 0.0]), user), [1.0, 0.0])
    text = np.array([[2.0, 0.0], [0.0, 3.0]], dtype=np.float32)  # the map keeps text, adds no intercept
    added = vectors.upsert([Item(id="b", title="b"), Item(id="known", title="k")], text)
    assert added == 1  # the item the model learned is never "new"
    vectors.upsert([Item(id="a", title="a, rewritten")], text[1:])
    ids, table = vectors.snapshot()
    assert ids == ("b", "a") and table.tolist() == [[2.0, 0.0], [0.0, 3.0]]
    vectors.remove({"b"})
    assert vectors.snapshot()[0] == ("a",)


def test_the_best_servable_new_items_are_found_beyond_the_shortlist() -> None:
    """Rows are scored 99 down to 0; only rows 50 and above may be shown (the rest, say, seen)."""

    class OnlyLaterRows:
        def servable(self, item_id: str, request: object) -> bool:
            return int(item_id) >= 50

    source = NewItemsSource(OnlyLaterRows())  # type: ignore[arg-type]
    rows = np.arange(100)
    scores = 99.0 - rows
    item_ids = tuple(str(row) for row in rows)
    assert source._best_servable(rows, scores, item_ids, None, 2) == [50, 51]  # type: ignore[arg-type]
    assert source._best_servable(rows[60:], scores, item_ids, None, 3) == [60, 61, 62]  # type: ignore[arg-type]
    assert source._best_servable(rows[:0], scores, item_ids, None, 3) == []  # type: ignore[arg-type]
