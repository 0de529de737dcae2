"""Model versions an operator controls: list, pin, unpin, roll back, delete, through the CLI's
functions and the admin API; a worker that did not take the call follows within its poll
interval; a pinned version survives pruning."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.errors import HomefeedError, NotFoundError
from homefeed.service import create_app
from homefeed.store import Store
from homefeed.training import control
from homefeed.training.integrity import quarantine
from homefeed.training.trainer import train_bundle
from homefeed.training.versions import prune_versions, served_version_path

from .conftest import load_folder


@pytest.fixture
def three_versions(store: Store, settings: Settings, synth_folder: Path) -> tuple[Settings, list[str]]:
    """Three trained versions (popularity only: quick), oldest first."""
    quick = settings.model_copy(update={"semantic": settings.semantic.model_copy(update={"enabled": False})})
    load_folder(store, quick, synth_folder)
    return quick, [train_bundle(store, quick, ["popularity"]).version for _ in range(3)]


def test_pin_rollback_unpin_delete_and_prune(three_versions: tuple[Settings, list[str]]) -> None:
    settings, (oldest, middle, newest) = three_versions
    models = settings.effective_models_dir
    assert [(v.version, v.status) for v in control.list_versions(models)] == [
        (newest, "serving"),
        (middle, "kept"),
        (oldest, "kept"),
    ]
    listed = control.list_versions(models)[0]
    assert listed.models == ["popularity"] and listed.events and listed.size_bytes > 0
    control.pin(models, middle)
    served = served_version_path(models)
    assert served is not None and served.name == middle
    assert [v.status for v in control.list_versions(models)] == ["kept", "pinned", "kept"]
    assert prune_versions(models, keep=1) == [models / oldest]  # the pinned one stays
    with pytest.raises(HomefeedError, match="pinned: unpin it first"):
        control.delete(models, middle)
    with pytest.raises(HomefeedError, match="no intact version older"):
        control.rollback(models)
    assert control.unpin(models) == middle
    assert control.rollback(models) == middle  # from the newest back to the one before
    control.delete(models, newest)
    with pytest.raises(NotFoundError, match=r"no model version '\.\./x'"):
        control.pin(models, "../x")
    quarantine(models / middle, "model version middle: broken")
    served = served_version_path(models)
    assert served is None  # pinned but quarantined, and nothing else left
    with pytest.raises(HomefeedError, match="quarantined"):
        control.pin(models, middle)


def test_workers_follow_a_pin_and_a_rollback(three_versions: tuple[Settings, list[str]]) -> None:
    settings, (oldest, middle, newest) = three_versions
    taking = settings.model_copy(update={"model_poll_seconds": 0, "catalog_poll_seconds": 0})
    polling = settings.model_copy(update={"model_poll_seconds": 0.05, "catalog_poll_seconds": 0})
    with TestClient(create_app(taking)) as worker, TestClient(create_app(polling)) as other:

        def served(client: TestClient) -> str:
            return str(client.get("/readyz").json()["model_version"])

        assert served(worker) == served(other) == newest
        pinned = worker.put("/v1/admin/versions/pin", json={"version": oldest})
        assert pinned.json() == {"pinned": oldest, "model_version": oldest}  # at once where called
        _wait_for(lambda: served(other) == oldest)
        statuses = {v["version"]: v["status"] for v in worker.get("/v1/admin/versions").json()}
        assert statuses == {newest: "kept", middle: "kept", oldest: "pinned"}
        refused = worker.delete(f"/v1/admin/versions/{oldest}")
        assert refused.status_code == 409 and "unpin it first" in refused.json()["message"]
        assert worker.delete("/v1/admin/versions/pin").json() == {"pinned": None, "model_version": newest}
        _wait_for(lambda: served(other) == newest)
        rolled = worker.post("/v1/admin/versions/rollback").json()
        assert rolled == {"pinned": middle, "model_version": middle}
        _wait_for(lambda: served(other) == middle)
        missing = worker.put("/v1/admin/versions/pin", json={"version": "20990101T000000000000Z"})
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def _wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the other worker did not follow"
        time.sleep(0.05)
