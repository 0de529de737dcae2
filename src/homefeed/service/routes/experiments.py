"""A/B experiments while the service runs: start and stop them (every worker follows within
its poll interval), list them, plan their size, and read their results per arm with each user
as one unit."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Query

from homefeed.config import ExperimentSettings
from homefeed.domain import Label
from homefeed.feedback import experiments
from homefeed.service.access import AdminAccess
from homefeed.service.deps import RuntimeDep
from homefeed.service.runtime import Runtime
from homefeed.service.schemas import ArmReport, ExperimentBody, ExperimentReport, PlanBody
from homefeed.store import experiments as stored

router = APIRouter(prefix="/v1/admin", tags=["operations"], dependencies=[AdminAccess])
ExperimentName = Annotated[Label, Path(description="The experiment's name.")]


@router.get("/experiments", response_model=list[ExperimentBody])
def list_experiments(runtime: RuntimeDep) -> list[ExperimentBody]:
    """Every experiment, oldest first: running or stopped, its arms and users exposed so far."""
    found = stored.every(runtime.store.engine)
    users = stored.exposed_users(runtime.store.engine, [experiment.name for experiment in found])
    return [ExperimentBody(**vars(experiment), users=users.get(experiment.name, 0)) for experiment in found]


@router.post("/experiments", response_model=ExperimentBody, status_code=201)
def start_experiment(body: ExperimentSettings, runtime: RuntimeDep) -> ExperimentBody:
    """Start an experiment now, beside any running one that changes other settings. Each arm
    overrides homepage settings and may serve another model version; a name is used once."""
    experiments.start(runtime.store, runtime.settings, body, runtime.homepages.variants.check)
    _follow(runtime)
    return _body(runtime, body.name)


@router.post("/experiments/{name}/stop", response_model=ExperimentBody)
def stop_experiment(name: ExperimentName, runtime: RuntimeDep) -> ExperimentBody:
    """Stop a running experiment: pages are built as configured again; its report stays."""
    experiments.stop(runtime.store, name)
    _follow(runtime)
    return _body(runtime, name)


@router.get("/experiments/plan", response_model=PlanBody)
def plan_experiment(
    runtime: RuntimeDep,
    effect: Annotated[
        float | None, Query(gt=0, le=10, description="The relative change of CTR to detect, e.g. 0.05.")
    ] = None,
    days: Annotated[float, Query(gt=0, le=365, description="Plan from this many days of impressions.")] = 14,
    alpha: Annotated[float, Query(gt=0, lt=0.5)] = 0.05,
    power: Annotated[float, Query(gt=0.5, lt=1)] = 0.8,
) -> PlanBody:
    """How many users two arms need to detect ``effect`` on CTR, and what the users of the
    last ``days`` could detect, from the per-user variance the log shows."""
    since = time.time() - days * 86_400
    found = experiments.plan(runtime.store, runtime.settings, since, effect, alpha, power)
    return PlanBody.model_validate(found, from_attributes=True)


@router.get("/experiments/{name}/report", response_model=ExperimentReport)
def experiment_report(
    name: ExperimentName,
    runtime: RuntimeDep,
    window_hours: Annotated[
        float | None,
        Query(gt=0, le=24 * 90, description="An event counts for an impression this long after it."),
    ] = None,
    conversion: Annotated[
        list[Label] | None,
        Query(description="Event types that count as a conversion (default: HOMEFEED_CONVERSION_TYPES)."),
    ] = None,
    alpha: Annotated[float, Query(gt=0, lt=0.5, description="The tests' level.")] = 0.05,
    power: Annotated[float, Query(gt=0.5, lt=1, description="For the detectable effect.")] = 0.8,
) -> ExperimentReport:
    """Per arm (configured order; the first is the baseline): users, impressions, CTR and CVR,
    and against the first arm the difference, its delta-method and bootstrap intervals, the
    p-value and the detectable effect, with each user as one unit."""
    report = experiments.report(runtime.store, runtime.settings, name, window_hours, conversion, alpha, power)
    return ExperimentReport(
        **{key: value for key, value in vars(report).items() if key != "arms"},
        arms=[ArmReport.model_validate(outcome, from_attributes=True) for outcome in report.arms],
    )


def _follow(runtime: Runtime) -> None:
    if runtime.experiments is not None:
        runtime.experiments.sync()


def _body(runtime: Runtime, name: str) -> ExperimentBody:
    found = stored.get(runtime.store.engine, name)
    assert found is not None
    users = stored.exposed_users(runtime.store.engine, [name]).get(name, 0)
    return ExperimentBody(**vars(found), users=users)
