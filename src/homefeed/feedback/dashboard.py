"""What the operator's dashboard (``/admin``) shows, read from the logs in one go: CTR and CVR
over days and by section, source and arm; how much of the catalog the pages showed and how
concentrated that exposure was (Gini); events per minute; model versions with their quality
gate figures; the experiments."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from homefeed.config import Settings
from homefeed.evaluation.metrics import gini
from homefeed.feedback.online import Outcome, online_report
from homefeed.store import Store
from homefeed.store import experiments as stored
from homefeed.training import control


@dataclass(frozen=True)
class Exposure:
    """How the shown items spread over the active catalog: ``coverage`` is the share of its
    items shown at least once, ``gini`` the inequality of their impressions (0: all shown
    alike; near 1: a few items take every slot); ``impressions`` counts every item shown."""

    catalog: int
    shown: int
    impressions: int
    coverage: float
    gini: float
    top_share: float  # of impressions taken by the most shown 1 % of the catalog


@dataclass(frozen=True)
class Dashboard:
    since: float
    window_hours: float
    total: Outcome
    by_day: list[Outcome]
    by_section: list[Outcome]
    by_source: list[Outcome]
    by_arm: list[Outcome]
    exposure: Exposure
    events_per_minute: list[tuple[float, int]]  # (minute start, events), oldest first, no gaps
    versions: list[control.VersionInfo]
    experiments: list[dict[str, Any]]


def dashboard(
    store: Store, settings: Settings, days: float = 14.0, minutes: int = 180, now: float | None = None
) -> Dashboard:
    """Everything the dashboard draws, for the impressions of the last ``days`` and the events
    of the last ``minutes``."""
    now = time.time() if now is None else now
    since = now - days * 86_400
    reports = {by: online_report(store, settings, by, since) for by in ("day", "section", "source", "arm")}
    return Dashboard(
        since=since,
        window_hours=reports["day"].window_hours,
        total=reports["day"].total,
        by_day=reports["day"].rows,
        by_section=reports["section"].rows,
        by_source=reports["source"].rows,
        by_arm=[row for row in reports["arm"].rows if row.key],
        exposure=exposure(store, since),
        events_per_minute=_per_minute(store, now, minutes),
        versions=control.list_versions(settings.effective_models_dir),
        experiments=[vars(found) for found in stored.every(store.engine)],
    )


def exposure(store: Store, since: float) -> Exposure:
    """Coverage and concentration of the impressions since ``since`` over the active catalog."""
    shown = store.logs.impressions_per_item(since)
    active = sorted(item.id for item in store.iter_items() if item.active)
    counts = np.array([shown.get(item_id, 0) for item_id in active], dtype=np.float64)
    total = float(counts.sum())
    top = max(1, round(len(counts) * 0.01))
    return Exposure(
        catalog=len(active),
        shown=int((counts > 0).sum()),
        impressions=sum(shown.values()),
        coverage=float((counts > 0).mean()) if len(counts) else 0.0,
        gini=gini(counts),
        top_share=float(np.sort(counts)[::-1][:top].sum() / total) if total else 0.0,
    )


def _per_minute(store: Store, now: float, minutes: int) -> list[tuple[float, int]]:
    last = int(now // 60)
    counts = store.logs.events_per_minute((last - minutes + 1) * 60.0)
    return [(minute * 60.0, counts.get(minute, 0)) for minute in range(last - minutes + 1, last + 1)]
