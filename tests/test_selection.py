"""Choosing and tuning models on the operator's own events: the validation split follows the
log's order (or its absence), planted regimes lead the choice to the model that can read
them, and training records the choices and reuses them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from homefeed.config import Settings
from homefeed.datasets.synth import SynthConfig, generate
from homefeed.homepage import HomepagePipeline
from homefeed.live.catalog import Catalog
from homefeed.models.base import Recommender, UserQuery
from homefeed.models.data import Interactions
from homefeed.models.fusion import fuse
from homefeed.store import Store, migrate
from homefeed.training.selection import CANDIDATES, SELECTION_FILE, Selection, tune
from homefeed.training.trainer import train_bundle
from homefeed.training.validation import has_order, validation_split

from .conftest import load_folder

ORDER_AWARE = {"covisitation", "sequential"}  # the models that read which item came last


def _regime(tmp_path: Path, ordered: bool, drift: float = 0.9) -> tuple[Store, Settings, Interactions]:
    """A store with synthetic events whose tastes drift (the latest picks tell the next ones),
    in time order or exported without order."""
    folder = tmp_path / f"synth-{ordered}-{drift}"
    generate(SynthConfig(users=400, items=240, topics=6, seed=7, ordered=ordered, taste_drift=drift), folder)
    settings = Settings(data_dir=tmp_path / f"data-{ordered}", gate={"enabled": False})
    store = Store.from_url(settings.effective_database_url)
    migrate(store.engine)
    load_folder(store, settings, folder)
    data = Interactions.from_rows(store.logs.iter_event_rows(), settings.events, store.item_ids())
    return store, settings, data


def test_the_split_holds_out_the_latest_liked_items_when_the_log_has_order(tmp_path: Path) -> None:
    _, _, data = _regime(tmp_path, ordered=True)
    assert has_order(data)
    split = validation_split(data, max_users=10_000)
    assert split.how == "latest 3 items liked per user"
    for user, (items, _) in enumerate(data.sequences()):
        distinct = list(dict.fromkeys(data.item_ids[int(i)] for i in items))
        case = next((c for c in split.cases if c.user_id == data.user_ids[user]), None)
        if len(distinct) < 3:
            assert case is None
            continue
        assert case is not None
        # the latest three items the user took, fewer where two would not stay
        assert case.relevant == set(distinct[-min(3, len(distinct) - 2) :])
        assert not case.relevant & set(case.history)
        assert len(set(case.history)) >= 2
    held = sum(len(case.relevant) for case in split.cases)
    training = split.training
    assert not any(
        (training.user_ids[int(u)], training.item_ids[int(i)])
        in {(c.user_id, r) for c in split.cases for r in c.relevant}
        for u, i in zip(training.users, training.items, strict=True)
    )
    assert held > 2.5 * len(split.cases)
    assert validation_split(data, max_users=10_000, per_user=1).how == "latest item liked per user"


def test_without_order_the_split_draws_the_held_out_items(tmp_path: Path) -> None:
    _, _, data = _regime(tmp_path, ordered=False)
    assert not has_order(data)
    split = validation_split(data, max_users=10_000)
    assert "at random" in split.how
    last_in_file = {}
    for user, (items, _) in enumerate(data.sequences()):
        distinct = list(dict.fromkeys(data.item_ids[int(i)] for i in items))
        last_in_file[data.user_ids[user]] = set(distinct[-3:])
    # drawn, not the last rows: most held-out items are some other of the user's items
    drawn_elsewhere = np.mean(
        [len(case.relevant - last_in_file[case.user_id]) / len(case.relevant) for case in split.cases]
    )
    assert drawn_elsewhere > 0.7
    assert validation_split(data, max_users=10_000).cases == split.cases  # seeded


@pytest.mark.slow
def test_planted_regimes_lead_the_choice_to_the_model_that_reads_them(tmp_path: Path) -> None:
    """Drifting tastes in time order: co-visitation of the latest picks leads. The same tastes
    exported without order: a model of the whole history leads, and co-visitation does not."""
    _, _, ordered = _regime(tmp_path, ordered=True)
    chosen = tune(ordered, CANDIDATES, budget_seconds=0, profiles={})
    assert chosen.personal[0] == "covisitation", chosen.validation
    assert chosen.validation["covisitation"] > 1.1 * max(
        value for name, value in chosen.validation.items() if name != "covisitation"
    )
    _, _, unordered = _regime(tmp_path, ordered=False)
    chosen = tune(unordered, CANDIDATES, budget_seconds=0, profiles={})
    assert chosen.personal[0] not in ORDER_AWARE, chosen.validation
    assert "at random" in chosen.split
    assert all(chosen.validation[name] > chosen.validation["popularity"] for name in chosen.personal)


def test_tuning_spends_its_budget_on_trials(tmp_path: Path) -> None:
    _, _, data = _regime(tmp_path, ordered=True)
    chosen = tune(data, ["covisitation", "ease"], budget_seconds=4, profiles={})
    assert chosen.seconds < 4 + 10  # a trial started before the deadline may finish after it
    assert sum(chosen.trials.values()) > 2
    assert set(chosen.params) == {"covisitation", "ease"}


def test_a_number_of_trials_makes_tuning_reproducible(tmp_path: Path) -> None:
    _, _, data = _regime(tmp_path, ordered=True)
    first, second = (
        tune(data, ["covisitation", "ease"], budget_seconds=0, profiles={}, trials=3) for _ in range(2)
    )
    assert first.trials == {"covisitation": 4, "ease": 4}  # the defaults, then three
    assert (first.params, first.validation, first.personal) == (
        second.params,
        second.validation,
        second.personal,
    )


@pytest.mark.slow
def test_training_records_the_choices_and_later_runs_reuse_them(tmp_path: Path) -> None:
    store, settings, _ = _regime(tmp_path, ordered=True)
    tuned = train_bundle(store, settings, ["popularity", "als"], tune_seconds=3)
    selection = tuned.manifest["selection"]
    assert selection["personal"][0] == "covisitation"
    assert set(selection["personal"]) <= set(tuned.manifest["models"])
    assert tuned.personal_order(settings.homepage.personal_models)[: len(selection["personal"])] == tuple(
        selection["personal"]
    )
    saved = json.loads((settings.effective_models_dir / SELECTION_FILE).read_text(encoding="utf-8"))
    assert saved["personal"] == selection["personal"]
    covisitation = tuned.models["covisitation"].config()
    assert all(covisitation[key] == value for key, value in selection["params"]["covisitation"].items())
    later = train_bundle(store, settings, ["popularity", "als"])  # no --tune: the last choices apply
    assert later.manifest["selection"]["personal"] == selection["personal"]
    assert later.models["covisitation"].config() == covisitation
    loaded = Selection.load(settings.effective_models_dir)
    assert loaded is not None and loaded.personal == selection["personal"]


def test_unreadable_choices_fall_back_to_the_configured_models(tmp_path: Path) -> None:
    (tmp_path / SELECTION_FILE).write_text("{not json", encoding="utf-8")
    assert Selection.load(tmp_path) is None
    assert Selection.load(tmp_path / "absent") is None


def test_reciprocal_rank_fusion_on_a_known_answer() -> None:
    # 3 leads one list and is second in the other: it beats each list's own leader
    items, scores = fuse([np.array([3, 1, 2, -1]), np.array([4, 3, 1])], n=3, k=1)
    assert items.tolist() == [3, 1, 4]
    assert scores.tolist() == pytest.approx([1 / 2 + 1 / 3, 1 / 3 + 1 / 4, 1 / 2])


@pytest.mark.slow
def test_near_tied_models_are_fused_on_the_page(tmp_path: Path) -> None:
    """A version whose choice says fuse two models leads each page with their fused list,
    every item explained by the model that ranked it highest."""
    store, settings, _ = _regime(tmp_path, ordered=False)
    chosen = Selection(["ease", "itemknn"], {}, {}, {}, "fixed", 0, blend=2)
    bundle = train_bundle(store, settings, ["popularity"], selection=chosen)
    user_id = next(user.id for user in store.iter_users() if len(store.logs.user_events(user.id, 100)) > 20)
    settings = settings.model_copy(
        update={
            "homepage": settings.homepage.model_copy(
                update={"sources": ["personal"], "diversity": 0.0, "exploration_slots": 0}
            )
        }
    )
    page = HomepagePipeline(store, settings, Catalog(store.iter_items()), bundle).build(user_id, 10)
    assert {item.source for item in page.items} == {"ease+itemknn"}
    history = [event for event in store.logs.user_events(user_id, 1000)]
    ease, knn = bundle.models["ease"], bundle.models["itemknn"]
    items = np.array([ease.item_index(event.item_id) for event in history], dtype=np.int64)
    weights = bundle.events(settings.events).weights_of(event.type for event in history)
    query = UserQuery(items, np.array(weights, dtype=np.float32))
    seen = {event.item_id for event in history if bundle.events(settings.events).weight(event.type) != 0}

    def ranked(model: Recommender) -> np.ndarray:
        scores = np.asarray(model.score_user(query), dtype=np.float64)
        scores[[model.item_index(item) for item in seen]] = -np.inf
        return np.argsort(-scores, kind="stable")[:100]

    expected, _ = fuse([ranked(ease), ranked(knn)], 10)
    assert [item.item_id for item in page.items] == [ease.item_ids[i] for i in expected.tolist()]
    assert all(item.explanation.text for item in page.items)
