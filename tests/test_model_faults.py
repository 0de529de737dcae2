"""Model faults degrade the service, never stop it: each kind of artifact corrupted in turn, a
version with nothing intact, a poller that meets a broken version or an error, a text encoder
that cannot start. The service answers, says why it is degraded, and serves the next good
version by itself."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.service import create_app
from homefeed.store import Store, migrate
from homefeed.training.integrity import QUARANTINE
from homefeed.training.trainer import train_bundle
from homefeed.training.versions import MANIFEST, load_bundle, version_folders
from tests.conftest import load_folder

MODELS = ["popularity", "covisitation", "als", "sequential"]


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory, synth_folder: Path) -> Path:
    """A data folder (SQLite store and models) with two trained versions, copied per test."""
    root = tmp_path_factory.mktemp("faults") / "data"
    settings = Settings(data_dir=root, sequential={"epochs": 1})
    store = Store.from_url(settings.effective_database_url)
    migrate(store.engine)
    load_folder(store, settings, synth_folder)
    for _ in range(2):
        train_bundle(store, settings, MODELS)
    store.close()
    return root


@pytest.fixture
def data_dir(two_versions: Path, tmp_path: Path) -> Path:
    copied = tmp_path / "data"
    shutil.copytree(two_versions, copied)
    return copied


def _settings(data_dir: Path, **update: object) -> Settings:
    options: dict[str, object] = {"model_poll_seconds": 0, "catalog_poll_seconds": 0, **update}
    return Settings(data_dir=data_dir, **options)  # type: ignore[arg-type]


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path: Path) -> None:  # same size: only the checksum can tell
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _newer_format(folder: Path) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**manifest, "format": 99}))


FAULTS: dict[str, Callable[[Path], None]] = {
    "truncated npz": lambda folder: _truncate(folder / "als" / "arrays.npz"),
    "truncated safetensors": lambda folder: _truncate(folder / "sequential" / "model.safetensors"),
    "model.json not json": lambda folder: (folder / "covisitation" / "model.json").write_text("{oops"),
    "flipped byte": lambda folder: _flip_a_byte(folder / "popularity" / "arrays.npz"),
    "missing new-item map": lambda folder: (folder / "new-items" / "map.npz").unlink(),
    "truncated text index": lambda folder: _truncate(folder / "semantic" / "index.faiss"),
    "manifest not json": lambda folder: (folder / MANIFEST).write_text("not json"),
    "newer format": _newer_format,
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_corrupt_newest_version_is_quarantined_and_the_older_one_serves(data_dir: Path, fault: str) -> None:
    newest, older = version_folders(data_dir / "models")
    FAULTS[fault](newest)
    with TestClient(create_app(_settings(data_dir))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["model_version"] == older.name
        assert any(newest.name in reason and "quarantined" in reason for reason in body["degradations"])
        page = client.get("/v1/users/u00001/homepage?n=5").json()
        assert page["model_version"] == older.name and len(page["items"]) == 5
        assert page["degraded"] is True and any(newest.name in r for r in page["reasons"])
    assert (newest / QUARANTINE).exists() and not (older / QUARANTINE).exists()
    assert newest.name in json.loads((newest / QUARANTINE).read_text())["reason"]


def test_every_saved_file_is_checksummed(data_dir: Path) -> None:
    newest = version_folders(data_dir / "models")[0]
    listed = set(json.loads((newest / MANIFEST).read_text())["files"])
    on_disk = {path.relative_to(newest).as_posix() for path in newest.rglob("*") if path.is_file()}
    assert listed == on_disk - {MANIFEST}
    assert {"als/arrays.npz", "sequential/model.safetensors", "semantic/index.faiss"} <= listed
    load_bundle(newest)  # intact: loads


@pytest.mark.slow
def test_with_no_intact_version_the_service_serves_live_popularity_and_says_why(data_dir: Path) -> None:
    for folder in version_folders(data_dir / "models"):
        _truncate(folder / "als" / "arrays.npz")
    with TestClient(create_app(_settings(data_dir))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["model_version"] is None
        assert "serving live popularity" in ready.json()["degradations"][0]
        page = client.get("/v1/users/u00001/homepage?n=5")
        assert page.status_code == 200 and len(page.json()["items"]) == 5
        assert page.json()["degraded"] is True
        assert client.get("/v1/popular?n=3").json()["degraded"] is True


@pytest.mark.slow
def test_the_poller_survives_a_broken_version_and_an_error_and_loads_the_next_good_one(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = data_dir / "models"
    newest, older = version_folders(models)
    spare = data_dir / "spare"
    shutil.move(newest, spare)  # start on the older version; the newest comes back later
    with TestClient(create_app(_settings(data_dir, model_poll_seconds=0.05))) as client:
        assert client.get("/readyz").json()["model_version"] == older.name
        broken = models / "29990101T000000000000Z"
        shutil.copytree(spare, broken)
        _truncate(broken / "als" / "arrays.npz")
        _wait_for(lambda: (broken / QUARANTINE).exists())
        assert client.get("/readyz").json()["model_version"] == older.name
        calls = {"n": 0}
        import homefeed.service.runtime as runtime_module

        real = runtime_module.served_version_path

        def failing_once(models_dir: Path) -> Path | None:
            calls["n"] += 1
            if calls["n"] == 1:
                raise OSError("the disk went away for a moment")
            return real(models_dir)

        monkeypatch.setattr(runtime_module, "served_version_path", failing_once)
        good = models / "29990102T000000000000Z"
        shutil.copytree(spare, good)
        _wait_for(lambda: client.get("/readyz").json()["model_version"] == good.name)
        assert calls["n"] > 1
        ready = client.get("/readyz").json()
        assert ready["degradations"] == []  # the quarantined version is older than the one served


@pytest.mark.slow
def test_reload_names_the_quarantined_version_in_a_409(data_dir: Path) -> None:
    models = data_dir / "models"
    with TestClient(create_app(_settings(data_dir))) as client:
        served = client.get("/readyz").json()["model_version"]
        broken = models / "29990101T000000000000Z"
        shutil.copytree(models / served, broken)
        (broken / "sequential" / "model.safetensors").write_bytes(b"")
        answer = client.post("/v1/admin/reload")
        assert answer.status_code == 409, answer.text
        body = answer.json()
        assert body["code"] == "version_quarantined" and body["model_version"] == served
        assert body["quarantined"][0]["version"] == broken.name
        assert "model.safetensors" in body["message"]
        again = client.post("/v1/admin/reload")  # nothing newer left to try
        assert again.status_code == 200 and again.json()["model_version"] == served


@pytest.mark.slow
def test_a_text_encoder_that_cannot_start_is_a_visible_degradation(data_dir: Path) -> None:
    settings = _settings(data_dir, text_model=str(data_dir / "no-such-model"))
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz").json()
        assert any("text similarity is off" in reason for reason in ready["degradations"])
        page = client.get("/v1/users/u00001/homepage?n=5").json()
        assert len(page["items"]) == 5
        assert page["degraded"] is True and any("text similarity is off" in r for r in page["reasons"])


def _wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
