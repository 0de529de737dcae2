"""Events' values as strengths: a play count or watch time scales its event's weight under the
rule the operator sets or ``homefeed train --tune`` chooses; the item-based models read a
user's strengths, and a version records its rule so its pages read the history the same way."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from homefeed.config import Settings
from homefeed.datasets.synth import SynthConfig, generate
from homefeed.domain import Event, Item
from homefeed.events import EventPolicy, scaled_weights
from homefeed.models.data import Interactions
from homefeed.models.ease import EaseRecommender
from homefeed.models.itemknn import ItemKnnRecommender
from homefeed.store import Store, migrate
from homefeed.training.selection import CANDIDATES, Selection, tune
from homefeed.training.trainer import train_bundle

from .conftest import load_folder

ROWS = [
    ("u1", "a", "click", 1.0, None, None, 9.0),
    ("u1", "b", "click", 2.0, None, None, None),
    ("u1", "c", "dislike", 3.0, None, None, 5.0),
    ("u2", "a", "like", 4.0, None, None, 0.0),
    ("u2", "b", "click", 5.0, None, None, 3.0),
]


def test_each_rule_scales_liking_events_by_their_value() -> None:
    weights = {"click": 1.0, "like": 2.0, "dislike": -2.0}
    ignored, log, linear = (EventPolicy(weights, rule) for rule in ("ignored", "log", "linear"))
    assert ignored.strength("click", 9.0) == 1.0
    assert log.strength("click", 9.0) == pytest.approx(1.0 + math.log(10.0))
    assert linear.strength("like", 3.0) == 6.0
    for policy in (log, linear):
        assert policy.strength("click", None) == 1.0  # no value: the type's weight
        assert policy.strength("like", 0.0) == 2.0  # a value of 0 says nothing more
        assert policy.strength("dislike", 5.0) == -2.0  # negative feedback is not scaled
        assert policy.strength("unknown", 5.0) == 0.0
        events = [(kind, value) for _, _, kind, _, _, _, value in ROWS]
        expected = [policy.strength(kind, value) for kind, value in events]
        assert policy.strengths_of(events) == pytest.approx(expected)
        base = np.array(ignored.weights_of(kind for kind, _ in events), dtype=np.float32)
        values = np.array([np.nan if value is None else value for _, value in events])
        assert scaled_weights(base, values, policy.values).tolist() == pytest.approx(expected)


def test_events_read_with_values_can_be_weighed_again_by_another_rule() -> None:
    weights = {"click": 1.0, "like": 2.0, "dislike": -2.0}
    plain = Interactions.from_rows(ROWS, EventPolicy(weights))
    assert plain.weights.tolist() == [1.0, 1.0, -2.0, 2.0, 1.0]
    assert plain.valued()
    for rule in ("log", "linear"):
        direct = Interactions.from_rows(ROWS, EventPolicy(weights, rule))
        assert plain.reweighed(rule).weights.tolist() == pytest.approx(direct.weights.tolist())
    assert plain.reweighed("ignored").weights.tolist() == plain.weights.tolist()
    unvalued = Interactions.from_rows([row[:4] for row in ROWS], EventPolicy(weights))
    assert unvalued.values is None and not unvalued.valued()
    alike = Interactions.from_rows([(*row[:6], 2.0) for row in ROWS], EventPolicy(weights))
    assert not alike.valued()  # one value for all tells no strengths apart


def test_the_log_gives_training_each_events_value(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'values.db'}")
    migrate(store.engine)
    store.upsert_items([Item(id="a", title="A"), Item(id="b", title="B")])
    store.add_events(
        [
            Event(user_id="u", item_id="a", type="click", value=12.5, timestamp=1.0),
            Event(user_id="u", item_id="b", type="click", timestamp=2.0),
        ]
    )
    rows = list(store.logs.iter_event_rows())
    assert [row[6] for row in rows] == [12.5, None]
    data = Interactions.from_rows(rows, EventPolicy({"click": 1.0}, "linear"), store.item_ids())
    assert data.weights.tolist() == [12.5, 1.0]


@pytest.mark.parametrize("model", [EaseRecommender(regularization=1.0), ItemKnnRecommender()])
def test_item_based_models_can_weigh_a_users_items_by_strength(
    model: EaseRecommender, tmp_path: Path
) -> None:
    rows = [
        (f"u{u}", f"i{(u + k) % 6}", "click", float(k), None, None, float(1 + k))
        for u in range(8)
        for k in range(3)
    ]
    data = Interactions.from_rows(rows, EventPolicy({"click": 1.0}, "linear"))
    items = np.array([0, 3], dtype=np.int64)

    def scores(fitted: EaseRecommender, *weights: float) -> np.ndarray:
        return fitted.score_history(items, np.array(weights, dtype=np.float32))

    model.fit(data)  # each item once, whatever its strength
    assert np.allclose(scores(model, 3.0, 1.0), scores(model, 1.0, 1.0), atol=1e-6)
    weighing = type(model)(**{**model.config(), "strengths": True}).fit(data)
    one, other = scores(weighing, 1.0, 0.0), scores(weighing, 0.0, 1.0)
    assert np.allclose(scores(weighing, 3.0, 1.0), 3 * one + other, atol=1e-5)  # x·B, x by strength
    weighing.save(tmp_path / model.name)
    loaded = type(model).load(tmp_path / model.name)
    users = np.arange(data.n_users)
    assert np.allclose(loaded.score_users(users), weighing.score_users(users), atol=1e-6)
    assert not np.allclose(weighing.score_users(users), model.score_users(users))


def _play_counts(tmp_path: Path, **settings: object) -> tuple[Store, Settings, Interactions]:
    """A music service's export: half of the picks are tries of what the slate showed, and
    play counts (values) tell the tastes apart; no order in the log."""
    folder = tmp_path / "plays"
    generate(SynthConfig(users=600, items=240, topics=6, seed=7, play_counts=True, ordered=False), folder)
    configured = Settings(
        data_dir=tmp_path / "data", gate={"enabled": False}, semantic={"enabled": False}, **settings
    )
    store = Store.from_url(configured.effective_database_url)
    migrate(store.engine)
    load_folder(store, configured, folder)
    data = Interactions.from_rows(store.logs.iter_event_rows(), configured.events, store.item_ids())
    return store, configured, data


@pytest.mark.slow
def test_planted_play_counts_are_read_and_random_values_are_not(tmp_path: Path) -> None:
    _, _, data = _play_counts(tmp_path)
    assert data.valued()
    chosen = tune(data, CANDIDATES, budget_seconds=0, profiles={}, value_rule=None)
    assert chosen.event_values != "ignored", chosen.values_validation
    assert chosen.values_validation[chosen.event_values] > chosen.values_validation["ignored"]
    shuffled = data.subset(np.arange(len(data.users)))
    assert shuffled.values is not None
    shuffled.values = np.random.default_rng(0).permutation(shuffled.values)  # values that say nothing
    chosen = tune(shuffled, CANDIDATES, budget_seconds=0, profiles={}, value_rule=None)
    assert chosen.event_values == "ignored", chosen.values_validation
    chosen = tune(data, CANDIDATES, budget_seconds=0, profiles={}, value_rule="log")  # set: no choice
    assert chosen.event_values == "log" and not chosen.values_validation


@pytest.mark.slow
def test_a_version_records_the_chosen_rule_and_its_pages_read_history_with_it(tmp_path: Path) -> None:
    store, settings, _ = _play_counts(tmp_path)
    tuned = train_bundle(store, settings, ["popularity", "ease"], tune_seconds=1)
    rule = tuned.manifest["selection"]["event_values"]
    assert rule != "ignored" and tuned.manifest["event_values"] == rule
    assert tuned.models["ease"].config()["strengths"] is True  # reads the strengths it was tuned with
    policy = tuned.events(settings.events)
    assert policy.values == rule
    history = store.logs.user_events("u00001", 100)
    strengths = policy.strengths_of((event.type, event.value) for event in history)
    assert strengths != settings.events.weights_of(event.type for event in history)
    later = train_bundle(store, settings, ["popularity", "ease"])  # no --tune: the last choice applies
    assert later.manifest["event_values"] == rule
    saved = Selection.load(settings.effective_models_dir)
    assert saved is not None and saved.event_values == rule
    fixed = settings.model_copy(update={"event_values": "ignored"})  # the operator's word stands
    assert (
        train_bundle(store, fixed, ["popularity", "ease"], tune_seconds=1).manifest["event_values"]
        == "ignored"
    )
