"""Experiments while the service runs: started and stopped through the API with no restart
(another worker follows within its poll interval), several at once with independent arms,
refused when they would collide, an arm serving another model version, and the report and
plan endpoints on the logged traffic."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from homefeed.config import ExperimentSettings, Settings
from homefeed.homepage.experiments import assign_arm
from homefeed.service import create_app
from homefeed.store import Store
from homefeed.training.trainer import train_bundle

from .conftest import load_folder

QUIET = {"exploration_slots": 0}


def _live(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "semantic": settings.semantic.model_copy(update={"enabled": False}),
            "model_poll_seconds": 0.2,
            "catalog_poll_seconds": 0,
        }
    )


def _arms_of(client: TestClient, users: list[str]) -> dict[str, dict[str, str]]:
    return {user: client.get(f"/v1/users/{user}/homepage?n=10").json()["arms"] for user in users}


def _until(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the other worker did not follow in time"
        time.sleep(0.1)


def test_experiments_start_and_stop_without_a_restart_on_every_worker(
    store: Store, settings: Settings, synth_folder: Path
) -> None:
    live = _live(settings)
    load_folder(store, live, synth_folder)
    train_bundle(store, live, ["popularity", "als"])
    users = store.logs.sample_user_ids(40)
    quiet = {"name": "quiet", "arms": {"control": {}, "calm": {"homepage": QUIET}}}
    with TestClient(create_app(live)) as one, TestClient(create_app(live)) as other:
        assert all(arms == {} for arms in _arms_of(other, users).values())
        started = one.post("/v1/admin/experiments", json=quiet)
        assert started.status_code == 201, started.text
        assert started.json()["status"] == "running" and started.json()["origin"] == "api"
        assigned = ExperimentSettings.model_validate(quiet)
        expected = {user: {"quiet": assign_arm(assigned, user)} for user in users}
        assert _arms_of(one, users) == expected  # the worker that took the call: at once
        _until(lambda: _arms_of(other, users) == expected)  # the other: within its poll
        pages = [other.get(f"/v1/users/{user}/homepage?n=20").json() for user in users]
        calm = [page for page in pages if page["arm"] == "calm"]
        assert calm and all(item["source"] != "explore" for page in calm for item in page["items"])
        control = [item["source"] for page in pages if page["arm"] == "control" for item in page["items"]]
        assert "explore" in control
        again = one.post("/v1/admin/experiments", json=quiet)
        assert again.status_code == 409 and again.json()["code"] == "experiment_conflict"
        assert one.post("/v1/admin/experiments/quiet/stop").json()["status"] == "stopped"
        _until(lambda: all(arms == {} for arms in _arms_of(other, users).values()))
        reused = one.post("/v1/admin/experiments", json=quiet)
        assert reused.status_code == 409 and "used before" in reused.json()["message"]
        listed = one.get("/v1/admin/experiments").json()
        assert [(e["name"], e["status"]) for e in listed] == [("quiet", "stopped")]
        assert listed[0]["users"] == len(users)  # every user who got a page while it ran


def test_experiments_run_together_with_independent_arms_and_collisions_are_refused(
    store: Store, settings: Settings, synth_folder: Path
) -> None:
    live = _live(settings)
    load_folder(store, live, synth_folder)
    train_bundle(store, live, ["popularity", "als"])
    first = {"name": "calm", "arms": {"a": {}, "b": {"homepage": QUIET}}}
    second = {"name": "diverse", "arms": {"x": {}, "y": {"homepage": {"diversity": 0.5}}}}
    with TestClient(create_app(live)) as client:
        assert client.post("/v1/admin/experiments", json=first).status_code == 201
        assert client.post("/v1/admin/experiments", json=second).status_code == 201
        users = store.logs.sample_user_ids(30)
        assert all(set(arms) == {"calm", "diverse"} for arms in _arms_of(client, users).values())
        clash = {"name": "calm-too", "arms": {"a": {}, "b": {"homepage": {"exploration_slots": 4}}}}
        refused = client.post("/v1/admin/experiments", json=clash)
        assert refused.status_code == 409
        assert "already changes ['exploration_slots']" in refused.json()["message"]
        unknown = {"name": "odd", "arms": {"a": {}, "b": {"homepage": {"sources": ["telepathy"]}}}}
        wrong = client.post("/v1/admin/experiments", json=unknown)
        assert wrong.status_code == 422
        assert "arms.b.homepage.sources: unknown component" in wrong.json()["message"]
        missing = {"name": "old", "arms": {"a": {}, "b": {"model_version": "20200101T000000000000Z"}}}
        absent = client.post("/v1/admin/experiments", json=missing)
        assert absent.status_code == 422 and absent.json()["field"] == "arms.b.model_version"
    one, two = ExperimentSettings.model_validate(first), ExperimentSettings.model_validate(second)
    pairs = Counter((assign_arm(one, f"u{n}"), assign_arm(two, f"u{n}")) for n in range(8000))
    for count in pairs.values():  # independent hashing: each of the four pairs about a quarter
        assert abs(count / 8000 - 0.25) < 0.025


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_arm_serves_another_model_version(store: Store, settings: Settings, synth_folder: Path) -> None:
    live = _live(settings)
    load_folder(store, live, synth_folder)
    older = train_bundle(store, live, ["popularity", "als"])
    newer = train_bundle(store, live, ["popularity", "als"])
    versions = {"name": "models", "arms": {"current": {}, "previous": {"model_version": older.version}}}
    with TestClient(create_app(live)) as client:
        assert client.post("/v1/admin/experiments", json=versions).status_code == 201
        users = store.logs.sample_user_ids(40)
        pages = [client.get(f"/v1/users/{user}/homepage?n=10").json() for user in users]
    served = {page["arm"]: set() for page in pages}
    for page in pages:
        served[page["arm"]].add(page["model_version"])
        assert not page["degraded"] or "not loaded" not in " ".join(page["reasons"])
    assert served == {"current": {newer.version}, "previous": {older.version}}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_report_and_the_plan_read_the_logged_traffic(
    store: Store, settings: Settings, synth_folder: Path
) -> None:
    live = _live(settings)
    load_folder(store, live, synth_folder)
    train_bundle(store, live, ["popularity", "als"])
    with TestClient(create_app(live)) as client:
        started = client.post("/v1/admin/experiments", json={"name": "t", "arms": {"a": {}, "b": {}}})
        assert started.status_code == 201
        users = store.logs.sample_user_ids(80)
        for n, user in enumerate(users):
            page = client.get(f"/v1/users/{user}/homepage?n=10").json()
            if page["arm"] == "b":  # arm b's users click one or two items: a planted difference
                shown = page["items"][: 1 + n % 2]
                clicks = [{"user_id": user, "item_id": item["item_id"], "type": "click"} for item in shown]
                assert client.post("/v1/events", json={"events": clicks}).status_code < 300
        client.app.state.runtime.impressions.close()  # flush the impression log
        report = client.get("/v1/admin/experiments/t/report?window_hours=1").json()
        plan = client.get("/v1/admin/experiments/plan?effect=0.5&days=1").json()
    a, b = report["arms"]
    assert (a["arm"], b["arm"]) == ("a", "b") and a["ctr_test"] is None
    assert a["users"] + b["users"] == 80 and a["clicked"] == 0 and b["users"] < b["clicked"] < 2 * b["users"]
    test = b["ctr_test"]
    assert test["difference"] == pytest.approx(b["ctr"]) and test["p_value"] < 0.001
    assert test["interval"][0] > 0 and test["bootstrap"][0] > 0 and test["mde"] > 0
    assert plan["users_seen"] == 80 and plan["users_per_arm"] > 0 and plan["baseline"] > 0
