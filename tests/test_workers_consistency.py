"""Two server processes on one PostgreSQL store and one Redis, as N stateless workers behind a
load balancer run: what is written through one is seen by the other (an event at once, an
item write and a deletion within a catalog look, a cursor at once)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from homefeed.config import Settings
from homefeed.store import Store
from tests.faults import free_port

REDIS_TEST_DB = "redis://127.0.0.1:6379/13"  # the suite's own database, emptied per test
LOOK = 0.2  # seconds between each worker's looks at the catalog's and users' changes


def _serve(settings: Settings, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "HOMEFEED_DATA_DIR": str(settings.data_dir),
        "HOMEFEED_DATABASE_URL": settings.effective_database_url,
        "HOMEFEED_REDIS_URL": REDIS_TEST_DB,
        "HOMEFEED_CATALOG_POLL_SECONDS": str(LOOK),
        "HOMEFEED_MODEL_POLL_SECONDS": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "homefeed.cli", "serve", "--port", str(port)]
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    return server, f"http://127.0.0.1:{port}"


def _until(check: Callable[[], bool], seconds: float = 10.0) -> float:
    """Seconds until ``check()`` held (fails after ``seconds``)."""
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < seconds, "not seen in time"
        time.sleep(0.05)
    return time.monotonic() - began


@pytest.fixture
def workers(trained: tuple[Store, Settings], tmp_path: Path) -> Iterator[tuple[str, str]]:
    _store, settings = trained
    redis.Redis.from_url(REDIS_TEST_DB).flushdb()
    started = [_serve(settings, tmp_path / f"worker-{n}.log") for n in range(2)]
    try:
        for server, base in started:

            def ready(server: subprocess.Popen[bytes] = server, base: str = base) -> bool:
                assert server.poll() is None, "a worker stopped while starting"
                try:
                    return httpx.get(base + "/readyz", timeout=1).status_code == 200
                except httpx.HTTPError:
                    return False

            _until(ready, 90)
        yield started[0][1], started[1][1]
    finally:
        for server, _ in started:
            server.terminate()
        for server, _ in started:
            server.wait(20)


def _page(base: str, user_id: str, n: int = 10, cursor: str | None = None) -> dict[str, object]:
    query = {"n": n, **({"cursor": cursor} if cursor else {})}
    answer = httpx.get(f"{base}/v1/users/{user_id}/homepage", params=query, timeout=30)
    assert answer.status_code == 200, answer.text
    page: dict[str, object] = answer.json()
    return page


def _ids(page: dict[str, object]) -> list[str]:
    return [str(item["item_id"]) for item in page["items"]]  # type: ignore[attr-defined, index]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_every_worker_sees_what_another_was_told(
    trained: tuple[Store, Settings], workers: tuple[str, str]
) -> None:
    store, _settings = trained
    first, second = workers
    reader, scroller, leaver = store.logs.sample_user_ids(3)

    # an event sent to one worker: the other's very next page reflects it
    shown = _ids(_page(second, reader))
    answer = httpx.post(
        f"{first}/v1/events",
        json={"events": [{"user_id": reader, "item_id": shown[0], "type": "purchase"}]},
    )
    assert answer.status_code == 200, answer.text
    assert shown[0] not in _ids(_page(second, reader))

    # a cursor from one worker followed at once on the other, and back: nothing shown twice
    page_one = _page(first, scroller)
    page_two = _page(second, scroller, cursor=str(page_one["next_cursor"]))
    page_three = _page(first, scroller, cursor=str(page_two["next_cursor"]))
    scrolled = _ids(page_one) + _ids(page_two) + _ids(page_three)
    assert len(scrolled) == 30 and len(set(scrolled)) == 30

    # an item written through one worker: the other's catalog holds it within a look
    item = {"title": "Lunar Gardens", "text": "A documentary about growing food on the moon."}
    assert httpx.put(f"{first}/v1/items/moon-garden", json=item).status_code == 200
    seen_after = _until(lambda: httpx.get(f"{second}/v1/items/moon-garden/similar").status_code == 200)
    assert seen_after < 5.0
    assert httpx.delete(f"{second}/v1/items/moon-garden").status_code == 204
    _until(lambda: httpx.get(f"{first}/v1/items/moon-garden/similar").status_code == 404)

    # a user deleted through one worker: gone on the other, their scroll too
    leaving_page = _page(second, leaver)
    assert httpx.delete(f"{first}/v1/users/{leaver}").status_code == 204
    assert httpx.get(f"{second}/v1/users/{leaver}").status_code == 404
    followed = httpx.get(
        f"{second}/v1/users/{leaver}/homepage", params={"cursor": str(leaving_page["next_cursor"])}
    )
    assert followed.status_code == 422 and "cursor" in followed.text
    assert httpx.get(f"{second}/v1/users/{leaver}/export").status_code == 404
