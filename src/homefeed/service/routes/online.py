"""Online metrics from the logs: CTR and CVR overall and per section, source, position, model
version, day or arm, every impression counted (not only those of an experiment)."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from homefeed.feedback import online
from homefeed.feedback.fairness import fairness_report
from homefeed.service.access import AdminAccess
from homefeed.service.deps import RuntimeDep
from homefeed.service.schemas import FairnessBody, GroupExposureBody, OnlineMetrics, OutcomeBody

router = APIRouter(prefix="/v1/admin", tags=["operations"], dependencies=[AdminAccess])


@router.get("/online-metrics", response_model=OnlineMetrics)
def online_metrics(
    runtime: RuntimeDep,
    by: Annotated[
        Literal["section", "source", "position", "version", "day", "arm"],
        Query(description="What to break the impressions down by."),
    ] = "section",
    days: Annotated[float, Query(gt=0, le=3650, description="Impressions of the last this many days.")] = 7.0,
    window_hours: Annotated[
        float | None,
        Query(
            gt=0,
            le=24 * 90,
            description="An event counts for an impression this long after it "
            "(default HOMEFEED_ATTRIBUTION_HOURS).",
        ),
    ] = None,
) -> OnlineMetrics:
    """Impressions, users, clicks and conversions (HOMEFEED_CLICK_TYPES, _CONVERSION_TYPES)
    attributed to the impression they followed; positions count from 0, days are UTC dates."""
    since = time.time() - days * 86_400
    report = online.online_report(runtime.store, runtime.settings, by, since, window_hours)
    return OnlineMetrics(
        by=report.by,
        since=since,
        window_hours=report.window_hours,
        click_types=report.click_types,
        conversion_types=report.conversion_types,
        total=OutcomeBody.model_validate(report.total, from_attributes=True),
        rows=[OutcomeBody.model_validate(row, from_attributes=True) for row in report.rows],
    )


@router.get("/fairness", response_model=FairnessBody)
def fairness(
    runtime: RuntimeDep,
    by: Annotated[Literal["category", "creator"], Query(description="The groups to compare.")] = "category",
    days: Annotated[float, Query(gt=0, le=3650, description="Impressions of the last this many days.")] = 7.0,
) -> FairnessBody:
    """Per category or creator: its share of the active catalog against its share of homepage
    impressions (ratio 1: in proportion), and the Gini of impressions per item across groups."""
    report = fairness_report(runtime.store, by, time.time() - days * 86_400)
    return FairnessBody(
        by=report.by,
        since=report.since,
        impressions=report.impressions,
        gini=report.gini,
        groups=[GroupExposureBody.model_validate(group, from_attributes=True) for group in report.groups],
    )
