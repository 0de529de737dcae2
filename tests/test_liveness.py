"""Liveness stays cheap under load: a page being built (CPU work, store reads) does not hold
the event loop, so /healthz and /readyz answer while it runs; a store that cannot answer in
time is a 503 to retry, never a 500."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.service import create_app
from homefeed.store import Store


def test_health_answers_while_a_page_is_being_built(settings: Settings) -> None:
    quiet = settings.model_copy(update={"catalog_poll_seconds": 0, "model_poll_seconds": 0})
    with TestClient(create_app(quiet)) as client:
        pipeline = client.app.state.runtime.homepages  # type: ignore[attr-defined]
        real_build = pipeline.build
        building, release = threading.Event(), threading.Event()

        def slow_build(*args: Any, **kwargs: Any) -> Any:
            building.set()
            release.wait(20)  # a page stuck on a slow store read
            return real_build(*args, **kwargs)

        pipeline.build = slow_build
        answers: dict[str, int] = {}
        page = threading.Thread(
            target=lambda: answers.update(page=client.get("/v1/users/u1/homepage?n=3").status_code)
        )
        page.start()
        assert building.wait(10)
        released_by_timer = threading.Timer(15, release.set)
        released_by_timer.start()
        try:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 503  # no model yet, but it answers
            assert not release.is_set(), "/healthz waited for the page"
        finally:
            release.set()
            released_by_timer.cancel()
            page.join(20)
        assert answers == {"page": 200}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_store_that_cannot_answer_in_time_is_a_503_to_retry(settings: Settings) -> None:
    """A write lock held elsewhere past the busy timeout: a 503 with Retry-After, not a 500."""
    quiet = settings.model_copy(update={"catalog_poll_seconds": 0, "model_poll_seconds": 0})
    with TestClient(create_app(quiet)) as client:
        client.put("/v1/items/i1", json={"title": "One"})
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        impatient = sa.create_engine(quiet.effective_database_url, connect_args={"timeout": 0.2})
        runtime.store = Store(impatient)
        holder = sqlite3.connect(quiet.effective_database_url.removeprefix("sqlite:///"))
        holder.execute("BEGIN EXCLUSIVE")  # e.g. a long write by another process
        try:
            answer = client.post(
                "/v1/events", json={"events": [{"user_id": "u", "item_id": "i1", "type": "click"}]}
            )
        finally:
            holder.rollback()
            holder.close()
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "store_unavailable" and answer.headers["retry-after"] == "1"
        again = client.post(
            "/v1/events", json={"events": [{"user_id": "u", "item_id": "i1", "type": "click"}]}
        )
        assert again.status_code == 200
        impatient.dispose()
