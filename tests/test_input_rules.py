"""Inputs that cannot poison: finite numbers, timestamps in a window around the server's clock,
no control characters, bounded sizes, the same answer on SQLite and PostgreSQL, and the same
rules for HTTP and import; every refusal in the one error shape."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.datasets.importer import Importer
from homefeed.datasets.records import Record
from homefeed.errors import RowError
from homefeed.service import create_app
from homefeed.store import Store


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    quiet = settings.model_copy(update={"max_body_bytes": 50_000, "catalog_poll_seconds": 0})
    with TestClient(create_app(quiet)) as test_client:
        test_client.put("/v1/items/i1", json={"title": "One"})
        yield test_client


def _event(**fields: object) -> dict[str, object]:
    return {"events": [{"user_id": "u1", "item_id": "i1", "type": "click", **fields}]}


def _refused(answer: object, field: str) -> dict[str, object]:
    response = answer  # a httpx.Response
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["code"] == "invalid_input" and field in str(body["field"]), body
    return body


@pytest.mark.parametrize("timestamp", ["inf", "nan", "-Infinity", 1e300, "1e300"])
def test_timestamps_must_be_finite_and_in_range(client: TestClient, timestamp: object) -> None:
    _refused(client.post("/v1/events", json=_event(timestamp=timestamp)), "timestamp")


def test_raw_nan_and_infinity_in_json_are_refused(client: TestClient) -> None:
    headers = {"content-type": "application/json"}
    for raw in ('"value": NaN', '"value": Infinity', '"timestamp": NaN', '"context": {"x": -Infinity}'):
        body = '{"events": [{"user_id": "u1", "item_id": "i1", "type": "click", ' + raw + "}]}"
        answer = client.post("/v1/events", content=body, headers=headers)
        assert answer.status_code == 422 and answer.json()["code"] == "invalid_input", (raw, answer.text)
    assert client.app.state.runtime.store.counts()["events"] == 0  # type: ignore[attr-defined]


def test_timestamps_fit_a_window_around_the_server_clock(client: TestClient) -> None:
    now = time.time()
    ahead = _refused(client.post("/v1/events", json=_event(timestamp=now + 86_400 * 180)), "timestamp")
    assert "ahead of the server's clock" in str(ahead["message"])
    old = _refused(client.post("/v1/events", json=_event(timestamp=now - 86_400 * 90)), "timestamp")
    assert "homefeed import" in str(old["message"])
    answer = client.post("/v1/events", json=_event(timestamp=now - 60, value=4.5))
    assert answer.status_code == 200 and answer.json()["accepted"] == 1


def test_import_takes_old_events_but_not_future_ones(store: Store, settings: Settings) -> None:
    items = [Record("items.jsonl", 1, {"id": "i1", "title": "One"})]
    old = Record("events.jsonl", 1, {"user_id": "u", "item_id": "i1", "type": "click", "timestamp": 1e9})
    ahead = Record(
        "events.jsonl", 2, {"user_id": "u", "item_id": "i1", "type": "click", "timestamp": time.time() + 1e6}
    )
    importer = Importer(store, settings.event_weights, window=settings.event_window(imported=True))
    with pytest.raises(RowError, match=r"events.jsonl, line 2, column 'timestamp'.*ahead"):
        importer.run(items, (), [old, ahead])
    assert store.counts()["events"] == 0  # nothing half-written
    assert importer.run(items, (), [old]).events == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/items/i2", {"title": "Nul\x00title"}, "title"),
        ("/v1/items/i2", {"title": "Two", "tags": ["ok", "bad\x00"]}, "tags"),
        ("/v1/items/i2", {"title": "Two", "category": "News\x1b[31m"}, "category"),
        ("/v1/items/i2", {"title": "Two", "attributes": {"k\x00": 1}}, "attributes"),
        ("/v1/users/u1", {"interests": "jazz\x00"}, "interests"),
    ],
)
def test_control_characters_are_refused_on_every_backend(
    client: TestClient, path: str, body: dict[str, object], field: str
) -> None:
    _refused(client.put(path, json=body), field)


def test_nul_in_ids_is_a_422_on_every_backend(client: TestClient) -> None:
    _refused(client.post("/v1/events", json=_event(user_id="u\x00")), "user_id")
    _refused(client.post("/v1/events", json=_event(context={"device": "tv\x00"})), "context")
    _refused(client.get("/v1/users/u%00x/homepage"), "user_id")
    _refused(client.put("/v1/items/i%00x", json={"title": "x"}), "item_id")
    _refused(client.get("/v1/admin/experiments/a%00b/report"), "name")
    text = client.put("/v1/items/i3", json={"title": "Prose", "text": "tabs\tand\nline breaks are fine"})
    assert text.status_code == 200


def test_sizes_are_limited(client: TestClient) -> None:
    started = time.perf_counter()
    _refused(client.put("/v1/items/i2", json={"title": "x", "tags": [f"t{n}" for n in range(5000)]}), "tags")
    assert time.perf_counter() - started < 5  # refused by count, not after indexing 5,000 tags
    _refused(
        client.put("/v1/items/i2", json={"title": "x", "attributes": {"blob": "y" * 20_000}}), "attributes"
    )
    deep: dict[str, object] = {}
    for _ in range(12):
        deep = {"d": deep}
    _refused(client.put("/v1/items/i2", json={"title": "x", "attributes": deep}), "attributes")
    _refused(client.post("/v1/events", json=_event(context={"note": "z" * 5000})), "context")
    _refused(client.post("/v1/events", json=_event(value=1e12)), "value")


def test_a_large_body_is_a_413_before_it_is_read(client: TestClient) -> None:
    declared = client.post("/v1/events", content=b"{" * 60_000, headers={"content-type": "application/json"})
    assert declared.status_code == 413 and declared.json()["code"] == "too_large"
    read: list[int] = []

    def chunks() -> Iterator[bytes]:  # no Content-Length: cut off at the limit, not read to the end
        for n in range(1000):
            read.append(n)
            yield b" " * 1000

    streamed = client.post("/v1/events", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["code"] == "too_large"


def test_framework_errors_use_the_one_shape(client: TestClient) -> None:
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert "/docs" in missing.json()["message"]
    wrong = client.delete("/healthz")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
    unknown = client.get("/v1/items/nope")
    assert unknown.status_code == 404 and set(unknown.json()) >= {"message", "field", "code"}
    broken = client.post("/v1/events", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 422 and broken.json()["code"] == "invalid_json"
    # no keys configured: an unreadable Authorization header is not a reason to refuse
    garbled = client.get("/v1/popular", headers={"Authorization": "Basic !!!"})
    assert garbled.status_code == 200
    schema = client.get("/openapi.json").json()
    answers = schema["paths"]["/v1/events"]["post"]["responses"]
    assert {"401", "413", "422", "500"} <= set(answers)
    assert answers["413"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


def test_auth_errors_use_the_one_shape(tmp_path: Path) -> None:
    key = "admin-key-0123456789abcdef"
    settings = Settings(data_dir=tmp_path, catalog_poll_seconds=0, access={"admin_keys": [key]})
    with TestClient(create_app(settings)) as keyed:
        none = keyed.get("/v1/popular")
        assert none.status_code == 401 and none.json()["code"] == "not_authenticated"
        garbled = keyed.get("/v1/popular", headers={"Authorization": "Basic !!!"})
        assert garbled.status_code == 401 and garbled.json()["code"] == "not_authenticated"
        good = base64.b64encode(f"any:{key}".encode()).decode()
        assert keyed.get("/v1/popular", headers={"Authorization": f"Basic {good}"}).status_code == 200
