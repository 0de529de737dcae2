"""The HTTP API, run once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.service import create_app
from homefeed.store import Store
from homefeed.training.trainer import train_bundle


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def trained_client(trained: tuple[Store, Settings]) -> Iterator[TestClient]:
    _store, settings = trained
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _events(*rows: tuple[str, str, str, str]) -> dict[str, object]:
    return {"events": [{"event_id": e, "user_id": u, "item_id": i, "type": t} for e, u, i, t in rows]}


def test_item_crud(client: TestClient) -> None:
    body = {
        "title": "Jazz for Beginners",
        "text": "Swing and bebop",
        "category": "Music",
        "tags": ["jazz"],
        "attributes": {"minutes": 42},
        "published_at": "2026-03-01T12:00:00Z",
    }
    created = client.put("/v1/items/j1", json=body)
    assert created.status_code == 200
    assert created.json()["published_at"] == 1772366400.0
    assert client.get("/v1/items/j1").json()["attributes"] == {"minutes": 42}
    batch = client.post(
        "/v1/items:batch",
        json={"items": [{"id": "j2", "title": "Two"}, {"id": "j3", "title": "Three"}]},
    )
    assert batch.json() == {"upserted": 2}
    assert client.delete("/v1/items/j1").status_code == 204
    missing = client.get("/v1/items/j1")
    assert missing.status_code == 404 and "j1" in missing.json()["message"]
    assert client.delete("/v1/items/j1").status_code == 404


def test_user_crud_and_deletion_removes_events(client: TestClient) -> None:
    client.put("/v1/items/i1", json={"title": "One"})
    assert (
        client.put("/v1/users/u1", json={"age": 33, "interests": "space operas, no horror"}).status_code
        == 200
    )
    assert client.get("/v1/users/u1").json()["interests"] == "space operas, no horror"
    client.post("/v1/events", json=_events(("e1", "u1", "i1", "click")))
    assert client.delete("/v1/users/u1").status_code == 204
    assert client.get("/v1/users/u1").status_code == 404
    page = client.get("/v1/users/u1/homepage").json()
    assert "i1" in [item["item_id"] for item in page["items"]]  # history gone with the user


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("put", "/v1/items/x", {"title": ""}, "title"),
        ("put", "/v1/items/x", {"title": "ok", "colour": "red"}, "colour"),
        ("put", "/v1/items/x", {"title": "ok", "published_at": "someday"}, "published_at"),
        ("put", "/v1/users/x", {"age": "old"}, "age"),
        ("post", "/v1/events", {"events": []}, "events"),
        ("post", "/v1/events", {"events": [{"user_id": "u", "type": "click"}]}, "events.0.item_id"),
        (
            "post",
            "/v1/events",
            {"events": [{"user_id": "u", "item_id": "i1", "type": "clik"}]},
            "events.0.type",
        ),
        (
            "post",
            "/v1/events",
            {"events": [{"user_id": "u", "item_id": "i1", "type": "click"}] * 1001},
            "events",
        ),
        ("get", "/v1/users/u/homepage?n=0", None, "n"),
        ("get", "/v1/users/u/homepage?n=100000", None, "n"),
        ("get", "/v1/users/u/homepage?category=Nope", None, "category"),
        ("get", f"/v1/users/u/homepage?device={'x' * 65}", None, "device"),
        ("get", "/v1/popular?n=-1", None, "n"),
        ("get", "/v1/items/i1/similar?n=abc", None, "n"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field(
    client: TestClient, method: str, url: str, body: object, field: str
) -> None:
    client.put("/v1/items/i1", json={"title": "One", "category": "News"})
    response = client.request(method.upper(), url, json=body)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["field"] == field
    assert field.split(".")[-1] in payload["message"]


def test_malformed_json_is_a_422_not_a_500(client: TestClient) -> None:
    response = client.post("/v1/events", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "JSON" in response.json()["message"]


def test_events_are_idempotent_and_unknown_items_listed(client: TestClient, settings: Settings) -> None:
    client.put("/v1/items/i1", json={"title": "One"})
    batch = _events(("e1", "new-user", "i1", "click"), ("e2", "new-user", "i1", "like"))
    assert client.post("/v1/events", json=batch).json() == {"accepted": 2, "duplicates": 0}
    assert client.post("/v1/events", json=batch).json() == {"accepted": 0, "duplicates": 2}
    assert client.get("/v1/users/new-user").status_code == 200  # unknown user created
    refused = client.post(
        "/v1/events",
        json=_events(
            ("e3", "u", "i1", "click"), ("e4", "u", "ghost", "click"), ("e5", "u", "phantom", "click")
        ),
    )
    assert refused.status_code == 422
    assert "['ghost', 'phantom']" in refused.json()["message"]
    store = Store.from_url(settings.effective_database_url)
    assert store.counts()["events"] == 2  # the refused batch wrote nothing


def test_before_training_the_homepage_is_live_popularity(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["model_version"] is None
    for item in ("a", "b", "c"):
        client.put(f"/v1/items/{item}", json={"title": item.upper()})
    client.post(
        "/v1/events",
        json=_events(("1", "x", "b", "click"), ("2", "y", "b", "click"), ("3", "y", "c", "click")),
    )
    page = client.get("/v1/users/x/homepage?n=5").json()
    assert page["degraded"] is True and "no trained model" in page["reasons"][0]
    # b was seen by x; the text nearest B comes first (a fifth of the page, rounded), then
    # popular c, then a, never clicked, as a fresh item
    first, *rest = page["items"]
    assert first["source"] == "semantic-history" and first["reason"] == "Because you liked B"
    assert {item["item_id"] for item in page["items"]} == {"a", "c"}
    assert all(item["source"] in {"popular", "fresh"} for item in rest), page["items"]


def test_homepage_after_training(trained_client: TestClient, trained: tuple[Store, Settings]) -> None:
    store, _settings = trained
    ready = trained_client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["model_version"]
    user = store.logs.sample_user_ids(1)[0]
    seen = {event.item_id for event in store.logs.user_events(user, 10_000)}
    page = trained_client.get(f"/v1/users/{user}/homepage", params={"n": 15}).json()
    ids = [item["item_id"] for item in page["items"]]
    assert len(ids) == 15 and len(set(ids)) == 15
    assert not seen & set(ids)
    assert page["degraded"] is False and page["model_version"] == ready["model_version"]
    first = page["items"][0]  # the default models' personal row: co-visitation from the latest likes
    assert first["source"] == "covisitation" and first["reason"].startswith("Because you liked")
    assert first["explanation"]["evidence"] and set(first["explanation"]["evidence"]) <= seen
    excluded = trained_client.get(
        f"/v1/users/{user}/homepage", params={"n": 15, "exclude": ",".join(ids[:3])}
    ).json()
    assert not set(ids[:3]) & {item["item_id"] for item in excluded["items"]}
    category = page["items"][0]["category"]
    only = trained_client.get(f"/v1/users/{user}/homepage", params={"category": category}).json()
    assert only["items"] and {item["category"] for item in only["items"]} == {category}


def test_unknown_user_gets_the_popular_homepage(trained_client: TestClient) -> None:
    popular = trained_client.get("/v1/popular?n=5").json()
    page = trained_client.get("/v1/users/never-seen/homepage?n=5").json()
    # one exploration slot (the 4th) shows a new item; the rest is the popular list
    explored = page["items"].pop(3)
    assert explored["source"] == "explore" and explored["explanation"]["type"] == "exploration"
    assert [i["item_id"] for i in page["items"]] == [i["item_id"] for i in popular["items"]][:4]
    assert page["degraded"] is True and all(i["source"] == "popular" for i in page["items"])


def test_a_new_user_with_a_profile_gets_what_people_like_them_pick(trained_client: TestClient) -> None:
    pages = {}
    for user, profile in (
        ("young-woman", {"age": 19, "gender": "F"}),
        ("older-man", {"age": 66, "gender": "M"}),
    ):
        assert trained_client.put(f"/v1/users/{user}", json=profile).status_code in (200, 201)
        page = trained_client.get(f"/v1/users/{user}/homepage?n=10").json()
        assert page["degraded"] is False
        profiled = [i for i in page["items"] if i["source"] not in ("explore", "trending")]
        assert len(profiled) >= 7 and {i["source"] for i in profiled} == {"profile"}  # 2 explore, 1 trending
        assert {i["reason"] for i in profiled} == {"Popular with people like you"}
        pages[user] = [i["item_id"] for i in page["items"]]
    assert pages["young-woman"] != pages["older-man"]


def test_an_event_changes_the_next_homepage(
    trained_client: TestClient, trained: tuple[Store, Settings]
) -> None:
    store, _settings = trained
    user = store.logs.sample_user_ids(5)[-1]
    before = [i["item_id"] for i in trained_client.get(f"/v1/users/{user}/homepage?n=10").json()["items"]]
    trained_client.post("/v1/events", json=_events(("fresh-1", user, before[0], "purchase")))
    after = [i["item_id"] for i in trained_client.get(f"/v1/users/{user}/homepage?n=10").json()["items"]]
    assert before[0] not in after and after != before


def test_similar_items_and_reload(trained_client: TestClient, trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    item = store.logs.item_popularity(["click"], 1)[0][0]
    similar = trained_client.get(f"/v1/items/{item}/similar?n=5").json()
    assert len(similar["items"]) == 5 and item not in [i["item_id"] for i in similar["items"]]
    assert trained_client.get("/v1/items/missing/similar").status_code == 404
    trained_client.put(
        "/v1/items/brand-new",
        json={"title": "Brand new", "category": similar["items"][0]["category"]},
    )
    by_text = trained_client.get("/v1/items/brand-new/similar?n=3").json()  # no behaviour yet
    assert by_text["degraded"] is False and [i["source"] for i in by_text["items"]] == ["text"] * 3
    fallback = trained_client.get("/v1/items/brand-new/similar?n=3&by=behaviour").json()
    assert fallback["degraded"] is True and len(fallback["items"]) == 3
    assert "no collaborative vector" in fallback["reasons"][0]
    assert trained_client.get("/v1/items/brand-new/similar?by=colour").status_code == 422
    old = trained_client.get("/readyz").json()["model_version"]
    new = train_bundle(store, settings).version
    assert trained_client.post("/v1/admin/reload").json() == {"model_version": new, "quarantined": []}
    assert new != old and trained_client.get("/readyz").json()["model_version"] == new


def test_deactivated_items_are_not_served(trained_client: TestClient) -> None:
    top = trained_client.get("/v1/popular?n=1").json()["items"][0]
    trained_client.put(f"/v1/items/{top['item_id']}", json={"title": top["title"], "active": False})
    assert top["item_id"] not in [
        i["item_id"] for i in trained_client.get("/v1/popular?n=10").json()["items"]
    ]


def test_openapi_docs_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/v1/users/{user_id}/homepage" in schema["paths"]
    assert client.get("/docs").status_code == 200


def test_the_service_picks_up_a_newer_model_by_itself(trained: tuple[Store, Settings]) -> None:
    import time

    store, settings = trained
    polling = settings.model_copy(update={"model_poll_seconds": 0.1})
    with TestClient(create_app(polling)) as polling_client:
        old = polling_client.get("/readyz").json()["model_version"]
        new = train_bundle(store, polling).version
        deadline = time.monotonic() + 10
        while polling_client.get("/readyz").json()["model_version"] != new:
            assert time.monotonic() < deadline, "newer model was not picked up"
            time.sleep(0.05)
    assert new != old
