"""Prometheus metrics at ``/metrics``: requests by route (prometheus-fastapi-instrumentator)
and homefeed's own: pages served and degraded (by reason), time per page stage and per
source, events ingested, impressions waiting to be written, the model version served and how
it was trained, versions on disk by status.

With several worker processes (``homefeed serve --workers N``) every worker writes its values
under PROMETHEUS_MULTIPROC_DIR and any worker's ``/metrics`` answers for all of them."""

from __future__ import annotations

import os
import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_fastapi_instrumentator import Instrumentator

from homefeed.homepage.page import Homepage
from homefeed.service.access import AdminAccess
from homefeed.training import control

STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
PAGES = Counter("homefeed_pages_total", "Homepages served.", ["degraded"])
DEGRADATIONS = Counter(
    "homefeed_page_degradations_total", "Reasons pages were degraded, by kind.", ["reason"]
)
STAGE_SECONDS = Histogram(
    "homefeed_page_stage_seconds", "Time of each page stage.", ["stage"], buckets=STAGE_BUCKETS
)
SOURCE_SECONDS = Histogram(
    "homefeed_source_seconds", "Time of each candidate source's proposal.", ["source"], buckets=STAGE_BUCKETS
)
EVENTS = Counter("homefeed_events_ingested_total", "Events stored (duplicates not counted).")
DUPLICATES = Counter("homefeed_events_duplicate_total", "Events skipped: their event_id was stored.")
IMPRESSION_QUEUE = Gauge(
    "homefeed_impression_queue_pages",
    "Pages whose impressions wait to be written.",
    multiprocess_mode="livesum",
)
MODEL = Gauge(
    "homefeed_model_info", "The model version served (1 for it).", ["version"], multiprocess_mode="liveall"
)
MODEL_TRAIN_SECONDS = Gauge(
    "homefeed_model_train_seconds", "How long the served version took to train.", multiprocess_mode="livemax"
)
MODEL_AGE = Gauge(
    "homefeed_model_age_seconds", "Seconds since the served version was trained.", multiprocess_mode="livemax"
)
VERSIONS = Gauge(
    "homefeed_model_versions", "Model versions on disk, by status.", ["status"], multiprocess_mode="livemax"
)
STANDING = Gauge(
    "homefeed_degradations", "Parts that are off or stale now (see /readyz).", multiprocess_mode="livemax"
)
REASON_KINDS = (  # a degradation's free text, reduced to a label of few values
    ("quarantined", "quarantined_version"),
    ("no trained model", "no_model"),
    ("text similarity is off", "text_off"),
    ("recommendations failed", "source_failed"),
    ("no history", "new_user"),
    ("could not be read", "read_failed"),
    ("could not be applied", "read_failed"),
)


def reason_kind(reason: str) -> str:
    return next((kind for needle, kind in REASON_KINDS if needle in reason), "other")


def observe_page(page: Homepage) -> None:
    """Count a page served and its stages' times."""
    PAGES.labels(degraded=str(page.degraded).lower()).inc()
    for reason in page.reasons:
        DEGRADATIONS.labels(reason=reason_kind(reason)).inc()
    for stage, seconds in page.seconds.items():
        if stage.startswith("source:"):
            SOURCE_SECONDS.labels(source=stage.removeprefix("source:")).observe(seconds)
        else:
            STAGE_SECONDS.labels(stage=stage).observe(seconds)


def observe_events(accepted: int, duplicates: int) -> None:
    EVENTS.inc(accepted)
    DUPLICATES.inc(duplicates)


def install_metrics(app: FastAPI) -> None:
    """Request metrics on every route, and ``GET /metrics`` (an admin key, when keys are set:
    Prometheus sends it as a bearer token). The request metrics live in the app's own registry,
    so apps built in one process (tests, tools) count their own requests."""
    requests = CollectorRegistry(auto_describe=True)
    Instrumentator(excluded_handlers=["/metrics", "/static/.*"], registry=requests).instrument(app)

    @app.get("/metrics", include_in_schema=False, dependencies=[AdminAccess])
    def metrics() -> Response:
        _refresh(app)
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # every worker's values, from their files
            gathered = CollectorRegistry()
            multiprocess.MultiProcessCollector(gathered)  # type: ignore[no-untyped-call]
            body = generate_latest(gathered)
        else:
            body = generate_latest(REGISTRY) + generate_latest(requests)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def _refresh(app: FastAPI) -> None:
    """Gauges read at scrape time from what this worker holds."""
    runtime = app.state.runtime
    IMPRESSION_QUEUE.set(runtime.impressions.waiting())
    STANDING.set(len(runtime.degradations))
    MODEL.clear()
    bundle = runtime.homepages.bundle
    if bundle is not None:
        MODEL.labels(version=bundle.version).set(1)
        MODEL_TRAIN_SECONDS.set(float(bundle.manifest.get("total_seconds", 0.0)))
        MODEL_AGE.set(time.time() - float(bundle.manifest.get("created_at", time.time())))
    statuses: dict[str, int] = {}
    for info in control.list_versions(runtime.settings.effective_models_dir):
        statuses[info.status] = statuses.get(info.status, 0) + 1
    for status in ("serving", "pinned", "kept", "quarantined"):
        VERSIONS.labels(status=status).set(statuses.get(status, 0))
