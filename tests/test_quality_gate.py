"""The quality gate: a new version is trained without the newest events, judged on them against
the serving version on the same rows, and serves only when it is not worse by more than the
margin; one that is worse is kept, marked rejected with the reason, shown to the operator and
served by no worker until promoted."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.datasets.synth import SynthConfig, generate
from homefeed.domain import Event, Impression, Item
from homefeed.service import create_app
from homefeed.store import Store, runs
from homefeed.training import control
from homefeed.training.schedule import run_training
from homefeed.training.trainer import train_bundle
from homefeed.training.versions import load_newest, served_version_path

from .conftest import load_folder

MODELS = ["popularity", "als"]


def _quick(settings: Settings, **gate: object) -> Settings:
    return settings.model_copy(
        update={
            "semantic": settings.semantic.model_copy(update={"enabled": False}),
            "gate": settings.gate.model_copy(update={"enabled": True, **gate}),
            "model_poll_seconds": 0,
            "catalog_poll_seconds": 0,
        }
    )


def _crippled(settings: Settings) -> Settings:
    """ALS whose factors the penalty crushes to nothing: it ranks far worse than a fitted one."""
    return settings.model_copy(update={"als": settings.als.model_copy(update={"regularization": 1e5})})


def test_a_worse_version_is_rejected_kept_and_not_served(
    store: Store, settings: Settings, synth_folder: Path
) -> None:
    quick = _quick(settings)
    load_folder(store, quick, synth_folder)
    good = run_training(store, quick, MODELS, keep=5)
    assert good is not None
    gate = good.manifest["gate"]
    assert (gate["status"], gate["reason"]) == ("passed", "no version serving to compare with")
    assert gate["metric"] == "ndcg@10" and gate["users"] >= quick.gate.min_users
    assert good.manifest["trained_until"] < gate["cut"]  # it never saw the rows it was judged on
    assert gate["models"]["als"]["candidate"]["ndcg"] > 2 * gate["models"]["popularity"]["candidate"]["ndcg"]

    bad = run_training(store, _crippled(quick), MODELS, keep=5)
    assert bad is not None
    verdict = bad.manifest["gate"]
    assert verdict["status"] == "rejected" and verdict["serving"] == good.version
    assert verdict["reason"].startswith("als ndcg@10 ")  # popularity is the same model: it passed
    assert verdict["models"]["als"]["serving"] == gate["models"]["als"]["candidate"]  # same rows
    models_dir = quick.effective_models_dir
    assert served_version_path(models_dir) == good.path  # the newer version is not served
    loaded = load_newest(models_dir)
    assert loaded.bundle is not None and loaded.bundle.version == good.version
    listed = {info.version: info for info in control.list_versions(models_dir)}
    assert listed[bad.version].status == "rejected" and listed[bad.version].reason == verdict["reason"]
    assert listed[bad.version].gate == verdict and listed[good.version].status == "serving"
    latest, first = runs.recent(store.engine)[:2]
    assert (latest.status, latest.version, latest.error) == ("rejected", bad.version, verdict["reason"])
    assert (first.status, first.version) == ("succeeded", good.version)

    control.promote(models_dir, bad.version)  # the operator overrules the gate
    assert served_version_path(models_dir) == bad.path


def test_the_margin_decides_and_too_few_users_are_not_judged(
    store: Store, settings: Settings, synth_folder: Path
) -> None:
    quick = _quick(settings)
    load_folder(store, quick, synth_folder)
    train_bundle(store, quick, MODELS)
    tolerant = train_bundle(store, _crippled(_quick(settings, margin=1.0)), MODELS)
    assert tolerant.manifest["gate"]["status"] == "passed"  # any figure is within 100 %
    assert "not worse than" in tolerant.manifest["gate"]["reason"]
    few = train_bundle(store, _crippled(_quick(settings, min_users=10_000)), MODELS)
    assert few.manifest["gate"]["status"] == "passed"
    assert few.manifest["gate"]["reason"].startswith("not judged: ")
    ungated = train_bundle(store, _crippled(quick), MODELS, gated=False)
    assert ungated.manifest["gate"] == {"status": "off"}
    assert ungated.manifest["events"] > few.manifest["events"]  # nothing held out
    assert served_version_path(quick.effective_models_dir) == ungated.path


def test_events_that_cannot_be_split_in_time_are_not_judged(store: Store, settings: Settings) -> None:
    quick = _quick(settings)
    store.upsert_items([Item(id=f"i{n}", title=f"item {n}") for n in range(5)])
    at_once = [Event(user_id=f"u{n % 3}", item_id=f"i{n % 5}", type="view", timestamp=1e9) for n in range(9)]
    store.add_events(at_once)  # one timestamp: no newest share to hold out
    bundle = train_bundle(store, quick, ["popularity"])
    assert bundle.manifest["gate"]["status"] == "passed"
    assert "cannot be split in time" in bundle.manifest["gate"]["reason"]
    assert bundle.manifest["events"] == 9


def test_a_log_without_order_is_judged_on_items_drawn_per_user(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    """A bulk export stamps every event alike: no newest share exists. One liked item per user
    is drawn and held out, as `--tune` validates, and each personal model must not rank them
    clearly worse than popularity fitted on the same rows."""
    folder = tmp_path / "export"
    generate(SynthConfig(users=300, items=240, days=30, topics=6, seed=7, ordered=False), folder)
    quick = _quick(settings)
    load_folder(store, quick, folder)
    total = store.counts()["events"]
    good = train_bundle(store, quick, MODELS)
    gate = good.manifest["gate"]
    assert gate["status"] == "passed" and "at random" in gate["reason"], gate["reason"]
    assert gate["cut"] is None and gate["users"] >= quick.gate.min_users
    assert good.manifest["events"] <= total - gate["users"]  # the drawn items were not trained on
    assert set(gate["models"]) == {"als"}  # popularity is the floor, not judged against itself
    als = gate["models"]["als"]
    assert als["candidate"]["ndcg"] > als["popularity"]["ndcg"]
    bad = train_bundle(store, _crippled(quick), MODELS)
    verdict = bad.manifest["gate"]
    assert verdict["status"] == "rejected" and verdict["reason"].startswith("als ndcg@10 "), verdict
    assert "of popularity minus" in verdict["reason"]
    assert served_version_path(quick.effective_models_dir) == good.path


def test_picks_of_items_the_homepage_showed_are_not_used_to_judge(
    store: Store, settings: Settings, synth_folder: Path
) -> None:
    """Clicks on what the serving version showed follow its own choices: judged on them it
    would always look better than any new version. Such picks are left out of the test."""
    quick = _quick(settings)
    load_folder(store, quick, synth_folder)
    cut = store.logs.newest_share_cut(quick.gate.holdout_share)
    assert cut is not None
    later = {(row[0], row[1], row[3]) for row in store.logs.iter_event_rows() if row[3] >= cut}
    shown = [
        Impression(f"r{n}", user, item, 0, "main", "als", "v0", at - 60, None, None)
        for n, (user, item, at) in enumerate(sorted(later))
    ]
    store.logs.log_impressions(shown)  # every later pick was on a homepage first
    train_bundle(store, quick, MODELS)
    bad = train_bundle(store, _crippled(quick), MODELS).manifest["gate"]
    assert bad["status"] == "passed" and bad["users"] == 0 and bad["left_out_shown"] > 0
    assert "their homepage had shown" in bad["reason"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_admin_api_shows_the_verdict_and_promotes(
    store: Store, settings: Settings, synth_folder: Path
) -> None:
    quick = _quick(settings)
    load_folder(store, quick, synth_folder)
    good = train_bundle(store, quick, MODELS)
    with TestClient(create_app(quick)) as client:
        assert client.get("/readyz").json()["model_version"] == good.version
        bad = train_bundle(store, _crippled(quick), MODELS)
        assert client.post("/v1/admin/reload").json()["model_version"] == good.version
        listed = {row["version"]: row for row in client.get("/v1/admin/versions").json()}
        assert listed[bad.version]["status"] == "rejected"
        assert listed[bad.version]["gate"]["models"]["als"]["serving"]["ndcg"] > 0
        assert listed[bad.version]["reason"].startswith("als ndcg@10")
        again = client.post(f"/v1/admin/versions/{good.version}/promote")
        assert again.status_code == 409 and "was not rejected" in again.json()["message"]
        promoted = client.post(f"/v1/admin/versions/{bad.version}/promote")
        assert promoted.status_code == 200 and promoted.json()["model_version"] == bad.version
        assert client.get("/readyz").json()["model_version"] == bad.version
