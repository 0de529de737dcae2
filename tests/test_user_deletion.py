"""Deleting a user reaches every worker at once: the store notes the change and each worker
drops what it caches of them (profile, ignored items, scroll sessions, interest texts) at its
next look; their events, impressions and experiment exposures go with them. A profile written
through one worker is what the other's next page reads."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.service import create_app
from homefeed.store import Store
from homefeed.store.schema import experiment_exposures

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
