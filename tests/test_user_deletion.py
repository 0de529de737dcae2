"""Deleting a user reaches every worker at once: the store notes the change and each worker
drops what it caches of them (profile, ignored items, scroll sessions, interest texts) at its
next look; their events, impressions and experiment exposures go with them. A profile written
through one worker is what the other's next page reads."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.service import create_app
from homefeed.store import Store
from homefeed.store.schema import experiment_exposures
from homefeed.training.trainer import train_bundle

INTERESTS = "space travel and jazz; not into football"


def _until(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the other worker did not follow in time"
        time.sleep(0.05)


def test_a_deleted_user_leaves_every_workers_caches(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    live = settings.model_copy(update={"catalog_poll_seconds": 0.2, "model_poll_seconds": 0.2})
    user = store.logs.sample_user_ids(1)[0]
    with TestClient(create_app(live)) as one, TestClient(create_app(live)) as other:
        # started through the worker that builds the pages: it serves the experiment at once
        assert (
            other.post("/v1/admin/experiments", json={"name": "e", "arms": {"a": {}, "b": {}}}).status_code
            == 201
        )
        assert one.put(f"/v1/users/{user}", json={"interests": INTERESTS}).status_code == 200
        pages = other.app.state.runtime.homepages  # type: ignore[attr-defined]
        sync = other.app.state.runtime.user_sync  # type: ignore[attr-defined]
        _until(lambda: sync.seen >= store.last_user_change())  # the profile write is read: caches fresh
        first = other.get(f"/v1/users/{user}/homepage?n=10").json()
        assert other.get(f"/v1/users/{user}/homepage?n=10&cursor={first['next_cursor']}").status_code == 200
        other.app.state.runtime.impressions.close()  # type: ignore[attr-defined]  # flush: exposures written
        assert pages.holds_user(user)
        space = pages.semantic.space
        assert INTERESTS in space._queries  # the parsed interest text is cached on the other worker
        with store.engine.connect() as connection:
            exposed = sa.select(sa.func.count()).where(experiment_exposures.c.user_id == user)
            assert connection.execute(exposed).scalar_one() == 1
        assert one.delete(f"/v1/users/{user}").status_code == 204
        _until(lambda: not pages.holds_user(user) and INTERESTS not in space._queries)
        with store.engine.connect() as connection:
            assert connection.execute(exposed).scalar_one() == 0
        assert store.user_data(user) is None and not store.logs.user_events(user, 10)


def test_a_profile_written_on_one_worker_is_read_by_the_others_next_page(
    trained: tuple[Store, Settings],
) -> None:
    _store, settings = trained
    live = settings.model_copy(update={"catalog_poll_seconds": 0.2})
    with TestClient(create_app(live)) as one, TestClient(create_app(live)) as other:
        assert one.put("/v1/users/newcomer", json={"interests": "Italian home cooking"}).status_code == 200
        before = other.get("/v1/users/newcomer/homepage?n=10").json()
        assert any("cooking" in item["explanation"]["text"].lower() for item in before["items"])
        assert one.put("/v1/users/newcomer", json={"interests": "rockets and planets"}).status_code == 200

        def reads_new_interests() -> bool:
            page = other.get("/v1/users/newcomer/homepage?n=10").json()
            return any("rockets" in item["explanation"]["text"].lower() for item in page["items"])

        _until(reads_new_interests)  # within the poll, not the profile cache's minute


def _traces(folder: Path, text: str) -> list[str]:
    """Files under ``folder`` whose bytes hold ``text`` (UTF-8, or UTF-32 as numpy saves strings)."""
    needles = (text.encode(), text.encode("utf-32-le"))
    return [
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and any(needle in path.read_bytes() for needle in needles)
    ]


def test_deletion_reaches_every_model_version_and_every_worker_and_the_next_training(
    trained: tuple[Store, Settings],
) -> None:
    store, settings = trained
    models_dir = settings.effective_models_dir
    train_bundle(store, settings, ["ranker", "als", "covisitation", "profile"])  # a second version kept
    live = settings.model_copy(update={"catalog_poll_seconds": 0.2, "model_poll_seconds": 0.2})
    user, kept = store.logs.sample_user_ids(2)
    item = store.logs.user_events(user, 1)[0].item_id
    assert len(_traces(models_dir, user)) >= 8  # ids, in every model of both versions
    with TestClient(create_app(live)) as one, TestClient(create_app(live)) as other:
        held = one.get(f"/v1/users/{user}/export").json()["models"]  # export holds the models' part
        assert len(held) == 2 and {"als", "ranker"} <= {name for found in held.values() for name in found}
        als = next(found["als"] for found in held.values() if "als" in found)
        assert len(als["factors"]) > 0 and als["known_as_training_user"]
        pages = other.app.state.runtime.homepages  # type: ignore[attr-defined]
        assert other.get(f"/v1/users/{user}/homepage?n=10").status_code == 200
        assert pages.holds_user(user)  # the other worker's models know the user
        assert one.delete(f"/v1/users/{user}").status_code == 204
        assert _traces(models_dir, user) == []  # every version on disk: at once
        _until(lambda: not pages.holds_user(user))  # the other worker's models and caches
        assert one.get(f"/v1/users/{kept}/export").json()["models"]  # the others are still there
        assert one.delete(f"/v1/items/{item}").status_code == 204
        assert _traces(models_dir, item) == []
        bundle = pages.bundle
        _until(lambda: all(model.item_index(item) is None for _, model in bundle.every_model()))
        assert other.get(f"/v1/users/{kept}/homepage?n=20").status_code == 200  # still serving
        ready = other.get("/readyz").json()
        assert ready["status"] == "ready" and not ready["degradations"], ready
    train_bundle(store, settings)  # the next training never sees them
    assert _traces(models_dir, user) == [] and _traces(models_dir, item) == []
