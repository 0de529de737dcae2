"""Online results of A/B experiments: CTR and CVR per arm from the impression log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from homefeed.domain import Label
from homefeed.feedback import online
from homefeed.service.access import AdminAccess
from homefeed.service.deps import RuntimeDep
from homefeed.service.schemas import ArmReport, ExperimentReport

router = APIRouter(prefix="/v1/admin", tags=["operations"], dependencies=[AdminAccess])


@router.get("/experiments/{name}/report", response_model=ExperimentReport)
def experiment_report(
    name: Annotated[Label, Path(description="The experiment's name (as recorded on impressions).")],
    runtime: RuntimeDep,
    window_hours: Annotated[
        float, Query(gt=0, le=24 * 90, description="An event counts for an impression this long after it.")
    ] = 24.0,
    conversion: Annotated[
        list[Label] | None,
        Query(description="Event types that count as a conversion (default: purchase)."),
    ] = None,
) -> ExperimentReport:
    """Per arm: users, impressions, click-through and conversion rates, and p-values against
    the first arm. Arms come in configured order; an experiment with no impressions has none."""
    report = online.experiment_report(runtime.store, runtime.settings, name, window_hours * 3600, conversion)
    return ExperimentReport(
        experiment=name,
        window_hours=window_hours,
        click_types=report.click_types,
        conversion_types=report.conversion_types,
        arms=[ArmReport.model_validate(outcome, from_attributes=True) for outcome in report.arms],
    )
