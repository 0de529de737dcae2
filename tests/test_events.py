"""What events mean, decided in one place: weights, liking and negative feedback; and a page
reads a history with the weights its model version was trained with."""

from __future__ import annotations

import pytest

from homefeed.config import Settings
from homefeed.events import DEFAULT_EVENT_WEIGHTS, EventPolicy, normalized
from homefeed.homepage import HomepagePipeline
from homefeed.live.catalog import Catalog
from homefeed.models.data import Interactions
from homefeed.store import Store
from homefeed.training.versions import latest_version_path, load_bundle


def test_the_policy_weighs_types_and_tells_liking_from_negative_feedback() -> None:
    policy = EventPolicy({"view": 0.5, "like": 2.0, "dislike": -2.0, "impression": 0.0})
    assert policy.weight("like") == 2.0 and policy.weight("unheard-of") == 0.0
    assert policy.knows("impression") and not policy.knows("unheard-of")
    assert policy.counts("dislike") and not policy.counts("impression")
    assert policy.positive_types == ["like", "view"] and policy.negative_types == ["dislike"]
    assert policy.types == ["dislike", "impression", "like", "view"]
    assert EventPolicy.of(policy) is policy and EventPolicy.of({"like": 1.0}).weights == {"like": 1.0}
    assert EventPolicy().weights == DEFAULT_EVENT_WEIGHTS
    with pytest.raises(TypeError):
        policy.weights["like"] = 5.0  # type: ignore[index]
    assert normalized("  Mobile ") == "mobile" and normalized("  ") is None


def test_training_drops_what_says_nothing_and_keeps_negative_feedback() -> None:
    rows = [("u", "a", "view", 1.0), ("u", "b", "impression", 2.0), ("u", "c", "dislike", 3.0)]
    data = Interactions.from_rows(rows, EventPolicy({"view": 0.5, "impression": 0.0, "dislike": -2.0}))
    assert [data.item_ids[i] for i in data.items] == ["a", "c"] and data.weights.tolist() == [0.5, -2.0]


def test_a_page_reads_the_history_with_the_weights_its_version_was_trained_with(
    trained: tuple[Store, Settings],
) -> None:
    store, settings = trained
    path = latest_version_path(settings.effective_models_dir)
    assert path is not None
    bundle = load_bundle(path)
    assert bundle.manifest["event_weights"] == settings.event_weights
    changed = settings.model_copy(
        update={"event_weights": {**settings.event_weights, "like": 0.0, "click": 9.0}}
    )
    pipeline = HomepagePipeline(store, changed, Catalog(store.iter_items()), bundle)
    user = store.logs.sample_user_ids(1)[0]
    query = pipeline.read_query(user, 10)
    types = {event.type for event in query.events}
    assert {"like", "click"} <= types
    for event, weight in zip(query.events, query.weights, strict=True):
        assert weight == settings.event_weights[event.type]  # the version's, not today's settings'
    without = HomepagePipeline(store, changed, Catalog(store.iter_items())).read_query(user, 10)
    weights = {event.type: weight for event, weight in zip(without.events, without.weights, strict=True)}
    assert weights["like"] == 0.0 and weights["click"] == 9.0  # no version: today's settings
