"""Scheduled retraining: one run at a time across processes (a lock in the store), every run
recorded with its data window, duration and result, and a service whose schedule trains a new
version in a process of its own and serves it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homefeed.config import RetrainingSettings, Settings
from homefeed.errors import ModelNotTrainedError
from homefeed.service import create_app
from homefeed.store import Store, runs
from homefeed.training.schedule import TrainingBusyError, is_due, run_training

from .conftest import load_folder


def _quick(settings: Settings, **retraining: object) -> Settings:
    return settings.model_copy(
        update={
            "semantic": settings.semantic.model_copy(update={"enabled": False}),
            "retraining": settings.retraining.model_copy(update=retraining),
        }
    )


def test_one_run_at_a_time_and_every_run_recorded(
    store: Store, settings: Settings, synth_folder: Path
) -> None:
    quick = _quick(settings)
    with pytest.raises(ModelNotTrainedError):  # no events yet: the run fails, and says so
        run_training(store, quick, ["popularity"], keep=5)
    load_folder(store, quick, synth_folder)
    with runs.exclusive(store.engine, "training", quick.data_dir) as taken:
        assert taken
        with runs.exclusive(store.engine, "training", quick.data_dir) as again:
            assert not again  # a second holder (another process, here another connection) waits
        with pytest.raises(TrainingBusyError, match="holds the lock"):
            run_training(store, quick, ["popularity"], keep=5)
        assert run_training(store, quick, ["popularity"], keep=5, scheduled=True) is None  # skipped
    bundle = run_training(store, quick, ["popularity"], keep=5)
    assert bundle is not None
    latest, failed = runs.recent(store.engine)
    assert (latest.status, latest.trigger, latest.version) == ("succeeded", "manual", bundle.version)
    assert latest.events == bundle.manifest["events"] and latest.seconds is not None and latest.seconds > 0
    oldest, newest = runs.event_window(store.engine)
    assert (latest.data_from, latest.data_to) == (oldest, newest)
    assert failed.status == "failed" and "no usable events" in str(failed.error)


def test_a_cron_schedule_is_due_once_after_each_of_its_times(store: Store, settings: Settings) -> None:
    nightly = _quick(settings, cron="0 3 * * *")  # 03:00 UTC
    assert is_due(store, nightly)  # never ran: due
    run_id = runs.start(store.engine, "scheduled")
    runs.finish(store.engine, run_id, "succeeded")
    started = runs.last_started(store.engine)
    assert started is not None
    assert not is_due(store, nightly, now=started + 60)  # ran since the latest 03:00
    following = started - started % 86_400 + 3 * 3600  # the next 03:00 UTC after the run:
    if following <= started:  # today's, when the run started before 03:00, else tomorrow's
        following += 86_400
    assert not is_due(store, nightly, now=following - 1)
    assert is_due(store, nightly, now=following + 1)
    with pytest.raises(ValueError, match="not a cron expression"):
        RetrainingSettings.model_validate({"cron": "every night"})


def test_the_schedule_says_when_a_run_is_due(store: Store, settings: Settings) -> None:
    assert not is_due(store, _quick(settings))  # no schedule
    hourly = _quick(settings, every_hours=1.0)
    assert is_due(store, hourly)  # never ran
    run_id = runs.start(store.engine, "scheduled")
    runs.finish(store.engine, run_id, "failed", error="boom")
    started = runs.last_started(store.engine)
    assert started is not None
    assert not is_due(store, hourly, now=started + 1800)
    assert is_due(store, hourly, now=started + 3600)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_service_on_a_schedule_trains_and_serves_a_new_version(
    store: Store, settings: Settings, synth_folder: Path
) -> None:
    scheduled = _quick(settings, every_hours=1.0, check_seconds=0.2, models=["popularity"]).model_copy(
        update={"model_poll_seconds": 0.2, "catalog_poll_seconds": 0}
    )
    load_folder(store, scheduled, synth_folder)
    with TestClient(create_app(scheduled)) as client, TestClient(create_app(scheduled)) as other_worker:
        assert client.get("/readyz").json()["model_version"] is None
        deadline = time.monotonic() + 120
        while client.get("/readyz").json()["model_version"] is None:
            assert time.monotonic() < deadline, "no scheduled run served a version"
            time.sleep(0.2)
        served = client.get("/readyz").json()["model_version"]
        # both workers found the run due: one trained, the other's run skipped (the lock was
        # taken) and its poller picked the new version up
        while other_worker.get("/readyz").json()["model_version"] != served:
            assert time.monotonic() < deadline, "the other worker did not follow"
            time.sleep(0.2)
        recorded = client.get("/v1/admin/training-runs").json()
        assert [(run["trigger"], run["status"], run["version"]) for run in recorded] == [
            ("scheduled", "succeeded", served)
        ]
