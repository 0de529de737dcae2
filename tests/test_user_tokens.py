"""Per-user access: a back end mints a short-lived token for one user, and the token reads only
that user's homepage and posts only their events; keys and signing secrets made at run time
lock, rotate and revoke without a restart; rate limits shared by workers through Redis; CORS by
setting; security headers on every response."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
import redis
from fastapi.testclient import TestClient

from homefeed.config import AccessSettings, Settings
from homefeed.service import create_app
from homefeed.service import credentials as credentials_module
from homefeed.store import Store
from homefeed.store import credentials as stored

ADMIN = "admin-key-0123456789"
CLIENT = "client-key-0123456789"
REDIS_TEST_DB = "redis://127.0.0.1:6379/15"  # a database of the suite's own, emptied per test


def _keyed(settings: Settings, **access: object) -> Settings:
    keys = AccessSettings.model_validate({"admin_keys": [ADMIN], "client_keys": [CLIENT], **access})
    return settings.model_copy(update={"access": keys})


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(credentials_module, "REFRESH_SECONDS", 0.0)  # every request reads the store
    yield


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _mint(client: TestClient, user: str, ttl: float = 600) -> str:
    answer = client.post(
        "/v1/tokens", json={"user_id": user, "ttl_seconds": ttl}, headers={"X-API-Key": CLIENT}
    )
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


def test_a_user_token_acts_only_as_its_user(trained: tuple[Store, Settings], fresh: None) -> None:
    store, settings = trained
    u1, u2 = store.logs.sample_user_ids(2)
    item = store.item_ids()[0]
    with TestClient(create_app(_keyed(settings))) as client:
        token = _mint(client, u1)
        assert client.get(f"/v1/users/{u1}/homepage", headers=_bearer(token)).status_code == 200
        other = client.get(f"/v1/users/{u2}/homepage", headers=_bearer(token))
        assert other.status_code == 403 and repr(u1) in other.json()["message"]

        def post(*users: str) -> int:
            events = [{"user_id": user, "item_id": item, "type": "click"} for user in users]
            return client.post("/v1/events", json={"events": events}, headers=_bearer(token)).status_code

        assert post(u1) == 200
        assert post(u2) == 403 and post(u1, u2) == 403  # a batch with anyone else: none of it
        assert client.get(f"/v1/items/{item}", headers=_bearer(token)).status_code == 200  # the catalog
        for method, path in (
            ("get", f"/v1/users/{u1}"),
            ("delete", f"/v1/users/{u1}"),
            ("get", "/v1/admin/versions"),
        ):
            assert client.request(method, path, headers=_bearer(token)).status_code == 403
        assert client.post("/v1/tokens", json={"user_id": u2}, headers=_bearer(token)).status_code == 403
        tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        assert client.get(f"/v1/users/{u1}/homepage", headers=_bearer(tampered)).status_code == 401
        expired = _mint(client, u1, ttl=1)
        time.sleep(2.1)
        refused = client.get(f"/v1/users/{u1}/homepage", headers=_bearer(expired))
        assert refused.status_code == 401 and "expired" in refused.json()["message"]
        too_long = client.post(
            "/v1/tokens", json={"user_id": u1, "ttl_seconds": 10**7}, headers={"X-API-Key": CLIENT}
        )
        assert too_long.status_code == 422 and too_long.json()["field"] == "ttl_seconds"
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["sub"] == u1 and claims["exp"] - claims["iat"] == 600


def test_keys_and_signing_secrets_rotate_without_a_restart(
    store: Store, settings: Settings, fresh: None
) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/admin/versions").status_code == 200  # no key anywhere: open
        key_id, key = stored.create(store.engine, "admin", "ops laptop")
        assert client.get("/v1/admin/versions").status_code == 401  # a key exists now: locked
        assert client.get("/v1/admin/versions", headers={"X-API-Key": key}).status_code == 200
        client_id, client_key = stored.create(store.engine, "client", "shop back end")
        minted = client.post("/v1/tokens", json={"user_id": "u1"}, headers={"X-API-Key": client_key})
        old_token = minted.json()["token"]
        assert client.get("/v1/users/u1/homepage", headers=_bearer(old_token)).status_code == 200
        old_secret = next(row.id for row in stored.every(store.engine) if row.kind == "signing")
        stored.create(store.engine, "signing", "rotated")
        new_token = client.post(
            "/v1/tokens", json={"user_id": "u1"}, headers={"X-API-Key": client_key}
        ).json()["token"]
        assert jwt.get_unverified_header(new_token)["kid"] != old_secret
        assert (
            client.get("/v1/users/u1/homepage", headers=_bearer(old_token)).status_code == 200
        )  # both valid
        assert stored.revoke(store.engine, old_secret)
        assert client.get("/v1/users/u1/homepage", headers=_bearer(old_token)).status_code == 401
        assert client.get("/v1/users/u1/homepage", headers=_bearer(new_token)).status_code == 200
        assert stored.revoke(store.engine, key_id)
        assert client.get("/v1/admin/versions", headers={"X-API-Key": key}).status_code == 401
        assert stored.revoke(store.engine, client_id)
    assert all(key not in row.secret and client_key not in row.secret for row in stored.every(store.engine))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rate_limits_are_shared_by_workers_through_redis(store: Store, settings: Settings) -> None:
    redis.Redis.from_url(REDIS_TEST_DB).flushdb()
    limited = _keyed(settings, rate_limit="5/minute").model_copy(update={"redis_url": REDIS_TEST_DB})
    with TestClient(create_app(limited)) as one, TestClient(create_app(limited)) as other:
        codes = [
            worker.get("/v1/popular", headers={"X-API-Key": CLIENT}).status_code
            for worker in (one, other, one, other, one)
        ]
        assert codes == [200] * 5
        refused = other.get("/v1/popular", headers={"X-API-Key": CLIENT})
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert one.get("/v1/popular", headers={"X-API-Key": ADMIN}).status_code == 200  # another caller


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cors_by_setting_and_security_headers_on_every_response(store: Store, settings: Settings) -> None:
    shop = "https://shop.example"
    allowed = settings.model_copy(update={"access": AccessSettings(cors_origins=[shop])})
    with TestClient(create_app(allowed)) as client:
        preflight = client.options(
            "/v1/events",
            headers={
                "Origin": shop,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == shop
        stranger = client.options(
            "/v1/events", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in stranger.headers
        for path in ("/v1/popular", "/healthz", "/v1/nothing", "/"):
            answer = client.get(path)
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert (
                answer.headers["x-frame-options"] == "DENY"
                and answer.headers["referrer-policy"] == "no-referrer"
            )
        assert "default-src 'self'" in client.get("/").headers["content-security-policy"]
