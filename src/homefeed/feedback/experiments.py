"""A/B experiments an operator runs: start and stop them while the service runs (several at
once, each hashing users by its own name), plan their size, and read their results with the
user as the unit (see ``statistics``)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np

from homefeed.config import ExperimentSettings, Settings
from homefeed.errors import ConfigurationError, HomefeedError, InvalidInputError, NotFoundError
from homefeed.feedback.online import Outcome
from homefeed.feedback.statistics import (
    Comparison,
    RatioSample,
    compare,
    minimum_detectable_effect,
    users_needed,
)
from homefeed.store import Store
from homefeed.store import experiments as stored
from homefeed.training import control

Check = Callable[[ExperimentSettings], None]  # raises when an arm cannot build a page


class ExperimentConflictError(HomefeedError):
    """The experiment cannot start: its name is taken, or a running one changes the same setting."""

    code = "experiment_conflict"


def definition(experiment: stored.StoredExperiment) -> ExperimentSettings:
    return ExperimentSettings.model_validate({"name": experiment.name, "arms": experiment.arms})


def running(store: Store) -> list[ExperimentSettings]:
    """The experiments running now, oldest first (every page is in one arm of each)."""
    return [definition(found) for found in stored.every(store.engine, "running")]


def start(
    store: Store, settings: Settings, experiment: ExperimentSettings, check: Check | None = None
) -> None:
    """Start ``experiment``: every arm must build a page (``check``), name a version that can
    serve, and change nothing a running experiment changes; a name is used once."""
    for arm, spec in experiment.arms.items():
        if spec.model_version is not None:
            _servable(settings, arm, spec.model_version)
    if check is not None:
        try:
            check(experiment)
        except ConfigurationError as error:
            raise InvalidInputError(str(error), field="arms") from None
    why = experiment.conflict_with(running(store))
    if why is None and stored.get(store.engine, experiment.name) is not None:
        why = f"the name {experiment.name!r} was used before: a new name gives every user a new draw"
    arms = {name: arm.model_dump(exclude_none=True) for name, arm in experiment.arms.items()}
    if why is not None or not stored.add(store.engine, experiment.name, arms, "api"):
        raise ExperimentConflictError(why or f"an experiment named {experiment.name!r} exists")


def declare(store: Store, experiment: ExperimentSettings | None) -> None:
    """Keep the store in step with the experiment in the settings (HOMEFEED_EXPERIMENT): it
    runs while configured; one configured before and not now is stopped."""
    for found in stored.every(store.engine, "running"):
        if found.origin == "settings" and (experiment is None or found.name != experiment.name):
            stored.stop(store.engine, found.name)
    if experiment is not None and stored.get(store.engine, experiment.name) is None:
        arms = {name: arm.model_dump(exclude_none=True) for name, arm in experiment.arms.items()}
        stored.add(store.engine, experiment.name, arms, "settings")


def stop(store: Store, name: str) -> None:
    if not stored.stop(store.engine, name):
        found = stored.get(store.engine, name)
        if found is None:
            raise NotFoundError(f"no experiment named {name!r}")
        raise ExperimentConflictError(f"experiment {name!r} is not running (it stopped before)")


def _servable(settings: Settings, arm: str, version: str) -> None:
    listed = {info.version: info for info in control.list_versions(settings.effective_models_dir)}
    info = listed.get(version)
    if info is None:
        raise InvalidInputError(
            f"arms.{arm}.model_version: no model version {version!r}; the versions: {sorted(listed)}",
            field=f"arms.{arm}.model_version",
        )
    if info.status == "quarantined":
        raise InvalidInputError(
            f"arms.{arm}.model_version: version {version} is quarantined ({info.reason})",
            field=f"arms.{arm}.model_version",
        )


@dataclass(frozen=True)
class ArmOutcome(Outcome):
    """One arm's users and what followed their impressions; the tests compare it with the
    first arm (None for the first arm itself)."""

    ctr_test: Comparison | None = None
    cvr_test: Comparison | None = None

    @property
    def arm(self) -> str:
        return self.key


@dataclass(frozen=True)
class ExperimentReport:
    name: str
    status: str
    started_at: float
    stopped_at: float | None
    window_hours: float
    click_types: list[str]
    conversion_types: list[str]
    alpha: float
    power: float
    arms: list[ArmOutcome] = field(default_factory=list)


def report(
    store: Store,
    settings: Settings,
    name: str,
    window_hours: float | None = None,
    conversion_types: Collection[str] | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> ExperimentReport:
    """Per arm: users, impressions, CTR and CVR, and against the first arm the difference with
    its delta-method and bootstrap intervals, p-value and the effect this sample can detect."""
    found = stored.get(store.engine, name)
    if found is None:
        raise NotFoundError(f"no experiment named {name!r}; started ones: {_names(store)}")
    hours = window_hours if window_hours is not None else settings.attribution_hours
    clicks, conversions = list(settings.click_types), sorted(conversion_types or settings.conversion_types)
    rows = stored.user_outcomes(store.engine, found, clicks, conversions, hours * 3600)
    by_arm: dict[str, list[tuple[int, int, int]]] = {}
    for arm, _user, shown, clicked, converted in rows:
        by_arm.setdefault(arm, []).append((shown, clicked, converted))
    order = [arm for arm in found.arms if arm in by_arm] + sorted(set(by_arm) - set(found.arms))
    samples = {arm: np.array(by_arm[arm], dtype=np.float64) for arm in order}
    outcomes: list[ArmOutcome] = []
    for arm in order:
        values = samples[arm]
        tests: list[Comparison | None] = [None, None]
        if outcomes:
            base = samples[order[0]]
            tests = [
                compare(_sample(base, k), _sample(values, k), alpha, power)
                for k in (1, 2)  # clicked, converted
            ]
        totals = values.sum(axis=0).astype(int)
        outcomes.append(ArmOutcome(arm, len(values), int(totals[0]), int(totals[1]), int(totals[2]), *tests))
    window = (found.status, found.started_at, found.stopped_at, hours)
    return ExperimentReport(name, *window, clicks, conversions, alpha, power, outcomes)


def _sample(values: np.ndarray, column: int) -> RatioSample:
    """Per user: impressions (column 0) and those clicked (1) or converted (2)."""
    return RatioSample(values[:, 0], values[:, column])


@dataclass(frozen=True)
class Plan:
    """How large an experiment must be, from the recent log: per-user variance of CTR."""

    baseline: float  # CTR over the recent impressions
    unit_variance: float
    users_seen: int  # users shown anything in the window
    users_per_arm: int | None  # to detect ``effect`` (relative) with ``power``
    effect: float | None
    detectable: float | None  # the relative effect detectable with the users seen, split in two


def plan(
    store: Store,
    settings: Settings,
    since: float,
    effect: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> Plan:
    """Size an experiment on CTR from the impressions since ``since``: the users needed per arm
    to detect a relative change ``effect`` and the change detectable when the users seen are
    split in two arms."""
    rows = store.logs.user_outcomes(list(settings.click_types), settings.attribution_hours * 3600, since)
    if not rows:
        raise NotFoundError("no impressions in the window: nothing to plan from (serve pages first)")
    values = np.array(rows, dtype=np.float64)
    sample = RatioSample(values[:, 0], values[:, 1])
    variance, base = sample.unit_variance(), sample.rate
    needed = None
    if effect is not None and base > 0:
        needed = users_needed(variance, effect * base, alpha, power)
    half = len(values) / 2
    detectable = None
    if base > 0 and half >= 2:
        detectable = minimum_detectable_effect(variance, half, alpha, power) / base
    return Plan(base, variance, len(values), needed, effect, detectable)


def _names(store: Store) -> list[str]:
    return [found.name for found in stored.every(store.engine)]
