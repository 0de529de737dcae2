"""The Transformer user model trained by `homefeed train` and serving homepages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homefeed.config import SequentialSettings, Settings
from homefeed.models.sequential import SequentialRecommender
from homefeed.service import create_app
from homefeed.store import Store
from homefeed.training.trainer import train_bundle

from .conftest import load_folder


@pytest.fixture
def sequential_client(store: Store, tmp_path: Path, synth_folder: Path) -> Iterator[tuple[TestClient, Store]]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=str(store.engine.url.render_as_string(hide_password=False)),
        sequential=SequentialSettings(
            hidden=32, layers=1, max_length=20, stride=None, epochs=4, batch_size=64
        ),
    )
    load_folder(store, settings, synth_folder)
    bundle = train_bundle(store, settings, ["popularity", "als", "sequential"])
    assert bundle.manifest["models"] == ["popularity", "als", "sequential"]
    assert (bundle.path / "sequential" / "model.safetensors").exists()
    with TestClient(create_app(settings)) as client:
        yield client, store


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_homepage_comes_from_the_sequence_model_and_follows_new_events(
    sequential_client: tuple[TestClient, Store],
) -> None:
    client, store = sequential_client
    user = store.logs.sample_user_ids(3)[-1]
    page = client.get(f"/v1/users/{user}/homepage?n=10").json()
    assert page["degraded"] is False
    sources = [item["source"] for item in page["items"]]
    # the model's best picks on top; interleaved: up to a tenth of items no one interacted
    # with (the 2 such items of the catalog, when the user's vector rates them above average),
    # the rest of two extra slots from the user's stated interests, and up to a tenth trending
    # (only if events are recent); the 4th and 9th slots explore
    trending, new = sources.count("trending"), sources.count("new-items")
    assert sources[:2] == ["sequential", "sequential"] and sources.count("sequential") == 6 - trending
    assert sources.count("interests") == 2 - new and new <= 1 and trending <= 1
    assert sources[3] == sources[8] == "explore"
    reasons = {"interests": ("Matches your interest in",), "trending": ("Trending now",)}
    reasons["new-items"] = ("New, for fans of",)
    reasons["explore"] = ("New here", "Something different")
    for item in page["items"]:
        assert item["reason"].startswith(reasons.get(item["source"], ("Because you liked",)))
    first = page["items"][0]["item_id"]
    event = {"event_id": "seq-1", "user_id": user, "item_id": first, "type": "like"}
    client.post("/v1/events", json={"events": [event]})
    after = client.get(f"/v1/users/{user}/homepage?n=10").json()
    assert first not in [item["item_id"] for item in after["items"]]
    assert [i["item_id"] for i in after["items"]] != [i["item_id"] for i in page["items"]]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_service_encodes_sequences_as_its_settings_say(
    sequential_client: tuple[TestClient, Store],
) -> None:
    client, store = sequential_client
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    bundle = runtime.homepages.bundle
    model = bundle.find("sequential")
    assert isinstance(model, SequentialRecommender)
    assert model.encoder_in_use == "onnx"  # the default
    user = store.logs.sample_user_ids(1)[0]
    fast = client.get(f"/v1/users/{user}/homepage?n=10&flat=true").json()
    settings = runtime.settings.model_copy(
        update={"sequential": runtime.settings.sequential.model_copy(update={"inference": "torch"})}
    )
    with TestClient(create_app(settings)) as other:
        served = other.app.state.runtime.homepages.bundle.find("sequential")  # type: ignore[attr-defined]
        assert isinstance(served, SequentialRecommender)
        assert served.encoder_in_use == "torch"  # trained with onnx; the service's setting wins
        slow = other.get(f"/v1/users/{user}/homepage?n=10&flat=true").json()
    # the same ranking either way (exploration slots are drawn per request, so compare the rest)
    ranked = [[i["item_id"] for i in page["items"] if i["source"] == "sequential"] for page in (fast, slow)]
    assert ranked[0] and ranked[0] == ranked[1]
