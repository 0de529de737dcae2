"""Prometheus metrics at /metrics: requests by route, pages and their degradations, time per
stage and per source, events ingested, the model served, versions by status; with several
worker processes, any worker answers for all of them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from homefeed.config import Settings
from homefeed.service import create_app
from homefeed.store import Store

from .faults import free_port


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_metrics_count_pages_events_stages_and_the_model(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    quiet = settings.model_copy(update={"model_poll_seconds": 0, "catalog_poll_seconds": 0})
    user = store.logs.sample_user_ids(1)[0]
    item = next(iter(store.iter_items())).id
    with TestClient(create_app(quiet)) as client:
        before = _samples(client.get("/metrics").text)
        for _ in range(3):
            assert client.get(f"/v1/users/{user}/homepage?n=10").status_code == 200
        events = [{"event_id": f"m{n}", "user_id": user, "item_id": item, "type": "click"} for n in range(5)]
        client.post("/v1/events", json={"events": events})
        client.post("/v1/events", json={"events": events[:2]})  # replayed: duplicates
        after = _samples(client.get("/metrics").text)
        version = client.get("/readyz").json()["model_version"]

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("homefeed_pages_total", degraded="false") == 3
    assert delta("homefeed_events_ingested_total") == 5 and delta("homefeed_events_duplicate_total") == 2
    assert delta("homefeed_page_stage_seconds_count", stage="read") == 3
    assert delta("homefeed_page_stage_seconds_count", stage="explore") == 3
    assert delta("homefeed_source_seconds_count", source="personal") == 3
    route = {"handler": "/v1/users/{user_id}/homepage", "method": "GET", "status": "2xx"}
    assert delta("http_requests_total", **route) == 3
    assert _value(after, "homefeed_model_info", version=version) == 1
    assert _value(after, "homefeed_model_versions", status="serving") == 1
    assert _value(after, "homefeed_model_train_seconds") > 0


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_with_two_workers_any_worker_answers_for_both(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    port = free_port()
    env = {
        **os.environ,
        "HOMEFEED_DATA_DIR": str(settings.data_dir),
        "HOMEFEED_DATABASE_URL": settings.effective_database_url,
        "HOMEFEED_MODEL_POLL_SECONDS": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "homefeed.cli", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
            time.sleep(0.2)
        users = store.logs.sample_user_ids(5)
        for number in range(20):  # new connections: the kernel spreads them over both workers
            assert httpx.get(f"{base}/v1/users/{users[number % 5]}/homepage?n=5").status_code == 200
        totals = set()
        for _ in range(4):
            samples = _samples(httpx.get(base + "/metrics").text)
            totals.add(_value(samples, "homefeed_pages_total", degraded="false"))
        assert totals == {20.0}
    finally:
        server.terminate()
        server.wait(20)
