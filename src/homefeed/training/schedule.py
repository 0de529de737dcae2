"""Training runs, one at a time: by hand (``homefeed train``) or on the schedule
(HOMEFEED_RETRAINING__EVERY_HOURS, started by the service's workers). Each run takes the
training lock in the store (another run holding it: a clear error, or for a scheduled run a
quiet skip), is recorded with its data window, duration and result, and prunes old versions."""

from __future__ import annotations

import logging
import time

from homefeed.config import Settings
from homefeed.errors import HomefeedError
from homefeed.store import Store, runs
from homefeed.training.trainer import PageTuner, StepCallback, train_bundle
from homefeed.training.versions import ModelBundle, prune_versions

LOCK = "training"
log = logging.getLogger(__name__)


class TrainingBusyError(HomefeedError):
    """Another training run holds the lock."""

    code = "training_busy"


def is_due(store: Store, settings: Settings, now: float | None = None) -> bool:
    """Whether the schedule wants a run: with a cron expression, when no run started since its
    latest time; with an interval, when the last run started that long ago."""
    plan = settings.retraining
    if not plan.scheduled:
        return False
    now = time.time() if now is None else now
    last = runs.last_started(store.engine)
    if plan.cron is not None:
        from croniter import croniter

        latest = float(croniter(plan.cron, now).get_prev(float))
        return last is None or last < latest
    return last is None or now - last >= plan.every_hours * 3600


def run_training(
    store: Store,
    settings: Settings,
    names: list[str],
    keep: int,
    scheduled: bool = False,
    on_step: StepCallback | None = None,
    gated: bool | None = None,
    tune_seconds: float | None = None,
    page_tuner: PageTuner | None = None,
) -> ModelBundle | None:
    """Train ``names`` into a new version under the training lock and record the run; a
    scheduled run is skipped (None) when the lock is taken or the run is not due. With
    ``tune_seconds`` the models are chosen and tuned first (``homefeed train --tune``)."""
    with runs.exclusive(store.engine, LOCK, settings.data_dir) as taken:
        if not taken:
            if scheduled:
                return None
            running = next((run for run in runs.recent(store.engine, 5) if run.status == "running"), None)
            since = f" (started {time.time() - running.started_at:,.0f} s ago)" if running else ""
            raise TrainingBusyError(f"another training run holds the lock{since}; try again when it ends")
        if scheduled and not is_due(store, settings):
            return None
        run_id = runs.start(store.engine, "scheduled" if scheduled else "manual")
        window = runs.event_window(store.engine)
        try:
            bundle = train_bundle(store, settings, names, on_step, gated, tune_seconds, page_tuner=page_tuner)
        except BaseException as error:
            runs.finish(
                store.engine, run_id, "failed", window=window, error=f"{type(error).__name__}: {error}"
            )
            raise
        prune_versions(settings.effective_models_dir, keep)
        gate = bundle.manifest.get("gate", {})
        n_events = int(bundle.manifest["events"])
        if gate.get("status") == "rejected":
            log.warning("the quality gate rejected model version %s: %s", bundle.version, gate["reason"])
            runs.finish(store.engine, run_id, "rejected", bundle.version, n_events, window, gate["reason"])
        else:
            verdict = gate.get("reason", "off")
            log.info("model version %s passed the quality gate: %s", bundle.version, verdict)
            runs.finish(store.engine, run_id, "succeeded", bundle.version, n_events, window)
        return bundle
