"""Liveness stays cheap under load: a page being built (CPU work, store reads) does not hold
the event loop, so /healthz and /readyz answer while it runs."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.service import create_app


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
