"""API keys (admin and client roles) and a user's data export, over HTTP and on the CLI."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from homefeed.cli import app as cli
from homefeed.config import AccessSettings, Settings
from homefeed.domain import Impression
from homefeed.service import create_app
from homefeed.service.credentials import Credentials, Role

ADMIN = "admin-key-0123456789"
CLIENT = "client-key-0123456789"
OPEN_PATHS = {"/healthz", "/readyz"}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def locked(settings: Settings) -> Iterator[TestClient]:
    keys = AccessSettings.model_validate({"admin_keys": [ADMIN], "client_keys": [CLIENT]})
    with TestClient(create_app(settings.model_copy(update={"access": keys}))) as client:
        yield client


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"anyone:{key}".encode()).decode()}


def test_keys_are_compared_by_role() -> None:
    access = AccessSettings.model_validate({"admin_keys": [ADMIN], "client_keys": [CLIENT]})
    keys = Credentials(access)
    admin, client = keys.identify(ADMIN), keys.identify(CLIENT)
    assert (
        admin is not None and admin.role is Role.ADMIN and client is not None and client.role is Role.CLIENT
    )
    assert keys.identify(ADMIN[:-1]) is None and keys.identify("") is None
    assert not AccessSettings().enabled and access.enabled
    assert ADMIN not in repr(access)  # secrets stay out of logs


def test_short_keys_are_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEFEED_ACCESS__ADMIN_KEYS", '["short"]')
    with pytest.raises(ValidationError, match=r"access\.admin_keys\.0[\s\S]*at least 16"):
        Settings()
    monkeypatch.setenv("HOMEFEED_ACCESS__ADMIN_KEYS", json.dumps([ADMIN]))
    assert Settings().access.admin_keys[0].get_secret_value() == ADMIN


def test_every_route_but_the_health_checks_needs_a_key(locked: TestClient) -> None:
    paths = locked.get("/openapi.json").json()["paths"]
    operations = [(method, path) for path, spec in paths.items() for method in spec if path not in OPEN_PATHS]
    assert len(operations) == 32
    unlisted = [("get", "/"), ("get", "/admin"), ("get", "/metrics")]  # pages not in the schema
    for method, path in [*operations, *unlisted]:
        url = path.replace("{user_id}", "u1").replace("{item_id}", "i1")
        url = url.replace("{promotion_id}", "p1").replace("{name}", "exp").replace("{version}", "v1")
        answer = locked.request(method, url, json={})
        assert answer.status_code == 401, (method, url, answer.text)
        challenges = answer.headers.get_list("www-authenticate")
        assert challenges == ['Basic realm="homefeed"', 'Bearer realm="homefeed"']  # a browser takes Basic
        assert "X-API-Key" in answer.json()["message"]
    for path in (*OPEN_PATHS, "/openapi.json", "/docs"):
        assert locked.get(path).status_code in {200, 503}, path


def test_client_keys_read_pages_and_send_events_admin_keys_do_everything(locked: TestClient) -> None:
    admin, client = {"X-API-Key": ADMIN}, {"Authorization": f"Bearer {CLIENT}"}
    assert locked.put("/v1/items/i1", json={"title": "One"}, headers=client).status_code == 403
    assert locked.put("/v1/items/i1", json={"title": "One"}, headers=admin).status_code == 200
    events = {"events": [{"event_id": "e1", "user_id": "u1", "item_id": "i1", "type": "click"}]}
    assert locked.post("/v1/events", json=events, headers=client).json()["accepted"] == 1
    assert locked.get("/v1/users/u1/homepage", headers=client).status_code == 200
    assert locked.get("/v1/items/i1", headers=client).status_code == 200
    forbidden = locked.get("/v1/users/u1/export", headers=client)
    assert forbidden.status_code == 403
    assert forbidden.json()["message"] == (
        "a client key may not call GET /v1/users/u1/export: it needs an admin key"
    )
    for method, url in (("delete", "/v1/users/u1"), ("get", "/v1/admin/promotions"), ("get", "/")):
        assert locked.request(method, url, headers=client).status_code == 403, url
    wrong = locked.get("/v1/users/u1/homepage", headers={"X-API-Key": CLIENT + "x"})
    assert wrong.status_code == 401 and "not valid" in wrong.json()["message"]
    assert locked.get("/v1/users/u1/export", headers=_basic(ADMIN)).json()["user"]["id"] == "u1"
    assert locked.get("/", headers=_basic(ADMIN)).status_code == 200  # the browser's way in
    assert locked.delete("/v1/users/u1", headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 204


def test_the_export_holds_the_profile_every_event_and_every_impression(client: TestClient) -> None:
    client.put("/v1/items/i1", json={"title": "One"})
    client.put("/v1/items/i2", json={"title": "Two"})
    client.put("/v1/users/u1", json={"age": 41, "interests": "jazz, no horror"})
    base = float(int(time.time()) - 1000)  # within the window HTTP accepts
    rows = [
        ("e2", "i2", "like", base + 200),
        ("e1", "i1", "click", base + 100),
        ("e3", "i1", "rating", base + 300),
    ]
    batch = [
        {
            "event_id": e,
            "user_id": "u1",
            "item_id": i,
            "type": t,
            "timestamp": ts,
            "context": {"device": "tv"},
        }
        for e, i, t, ts in rows
    ]
    batch[2]["value"] = 4.5
    client.post("/v1/events", json={"events": batch})
    client.post("/v1/events", json={"events": [{"user_id": "u2", "item_id": "i1", "type": "click"}]})
    store = client.app.state.runtime.store  # type: ignore[attr-defined]
    shown = [Impression("r1", "u1", "i2", 1, "Top picks", "als", "v1", 150.0, "exp", "b")]
    store.logs.log_impressions([*shown, Impression("r2", "u2", "i2", 1, "Top picks", "als", "v1", 150.0)])
    data = client.get("/v1/users/u1/export").json()
    assert data["user"] == {
        "id": "u1",
        "age": 41,
        "gender": None,
        "occupation": None,
        "location": None,
        "interests": "jazz, no horror",
        "attributes": {},
    }
    assert [(e["event_id"], e["type"], e["timestamp"]) for e in data["events"]] == [
        ("e1", "click", base + 100),
        ("e2", "like", base + 200),
        ("e3", "rating", base + 300),
    ]
    assert data["events"][2]["value"] == 4.5 and data["events"][0]["context"] == {"device": "tv"}
    assert [(i["request_id"], i["item_id"], i["arm"]) for i in data["impressions"]] == [("r1", "i2", "b")]
    assert data["exported_at"] > 300.0
    assert client.get("/v1/users/nobody/export").status_code == 404
    client.delete("/v1/users/u1")
    assert client.get("/v1/users/u1/export").status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_exports_and_deletes_a_user(client: TestClient, settings: Settings, tmp_path: Path) -> None:
    client.put("/v1/items/i1", json={"title": "One"})
    client.post("/v1/events", json={"events": [{"user_id": "u1", "item_id": "i1", "type": "click"}]})
    runner, base = CliRunner(), ["--database-url", str(settings.effective_database_url)]
    target = tmp_path / "u1.json"
    exported = runner.invoke(cli, [*base, "users", "export", "u1", "--output", str(target)])
    assert exported.exit_code == 0, exported.output
    assert json.loads(target.read_text())["events"][0]["item_id"] == "i1"
    refused = runner.invoke(cli, [*base, "users", "delete", "u1"], input="n\n")
    assert refused.exit_code == 1 and client.get("/v1/users/u1").status_code == 200
    deleted = runner.invoke(cli, [*base, "users", "delete", "u1", "--yes"])
    assert deleted.exit_code == 0 and client.get("/v1/users/u1").status_code == 404
    missing = runner.invoke(cli, [*base, "users", "export", "u1"])
    assert missing.exit_code == 1 and "not found" in missing.output


def test_an_open_service_on_a_public_address_warns(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="homefeed.service.app"):
        create_app(settings)
        assert not caplog.records  # 127.0.0.1: nothing to say
        create_app(settings.model_copy(update={"host": "0.0.0.0"}))
    assert "no API key is configured and the service binds 0.0.0.0" in caplog.text
    keys = AccessSettings.model_validate({"admin_keys": [ADMIN]})
    caplog.clear()
    create_app(settings.model_copy(update={"host": "0.0.0.0", "access": keys}))
    assert not caplog.records
