"""A/B experiments on the homepage: which arm of each running experiment a user is in, and the
pipeline components of each combination of arms (its settings, sources, fill, filters and
model version), built on first use and checked when an experiment starts.

Several experiments run at once: each hashes users with its own name, so arms of different
experiments are independent, and experiments that change the same setting (or the model
version) are refused before they start, so each page's settings are well defined.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from homefeed.config import ExperimentSettings, Settings
from homefeed.errors import ConfigurationError
from homefeed.homepage.filters import CandidateFilter
from homefeed.homepage.sources import SOURCES, CandidateSource, PageServices
from homefeed.training.registry import MODEL_CLASSES

Arms = tuple[tuple[str, str], ...]  # (experiment, arm) of each running experiment
Declared = TypeVar("Declared")


def assign_arm(experiment: ExperimentSettings, user_id: str) -> str:
    """The user's arm: a uniform point from a hash of (experiment, user), cut by arm weights.
    The same user always lands in the same arm; a new experiment name reshuffles everyone."""
    digest = hashlib.sha256(f"{experiment.name}\x00{user_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(arm.weight for arm in experiment.arms.values())
    edge = 0.0
    names = list(experiment.arms)
    for name in names:
        edge += experiment.arms[name].weight / total
        if point < edge:
            return name
    return names[-1]  # rounding at the very top


@dataclass
class Variant:
    """The components one combination of arms builds pages with (no arms: the configured page)."""

    arms: Arms
    settings: Settings
    services: PageServices
    sources: list[CandidateSource]
    fill: list[CandidateSource]
    filters: list[CandidateFilter]
    model_version: str | None = None  # None: the version every page serves

    @property
    def arm(self) -> str | None:
        """The arm of the first experiment (None outside experiments)."""
        return self.arms[0][1] if self.arms else None


def _declared(where: str, names: Sequence[str], known: Collection[str]) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigurationError(f"{where}: unknown component(s) {unknown}; valid names are {sorted(known)}")


def _components(prefix: str, settings: Settings, filters: Collection[str]) -> None:
    declared = settings.homepage
    _declared(f"{prefix}.sources", declared.sources, SOURCES)
    _declared(f"{prefix}.fill", declared.fill, SOURCES)
    _declared(f"{prefix}.filters", declared.filters, filters)
    _declared(f"{prefix}.personal_models", declared.personal_models, MODEL_CLASSES)


def check_arms(
    settings: Settings, experiment: ExperimentSettings, filters: Collection[str], prefix: str | None = None
) -> None:
    """Raise :class:`ConfigurationError` naming the arm and the field when an arm of
    ``experiment`` would not build a page: unknown or invalid settings, unknown components
    (``prefix``: how to name the experiment, as the setting "experiment" or by its name)."""
    for arm in experiment.arms:
        try:
            chosen = settings.for_arms([(experiment, arm)], prefix)
        except ValueError as error:
            raise ConfigurationError(str(error)) from None
        named = f"{prefix}." if prefix else f"experiment {experiment.name}: "
        _components(f"{named}arms.{arm}.homepage", chosen, filters)


class Variants(Generic[Declared]):
    """The page's variants: one per combination of the running experiments' arms, built on
    first use and kept until the running experiments change; ``declare`` turns each into the
    stages its pages run through."""

    def __init__(
        self,
        settings: Settings,
        services: Callable[[Settings], PageServices],
        filters: dict[str, Callable[[], CandidateFilter]],
        declare: Callable[[Variant], Declared],
    ) -> None:
        self._settings, self._services, self._filters, self._declare = settings, services, filters, declare
        self.base = self._build(())
        self._lock = threading.Lock()
        self._running: tuple[ExperimentSettings, ...] = ()
        self._built: dict[Arms, tuple[Variant, Declared]] = {(): (self.base, declare(self.base))}
        if settings.experiment is not None:
            self.set_running([settings.experiment])

    @property
    def running(self) -> tuple[ExperimentSettings, ...]:
        return self._running

    def check(self, experiment: ExperimentSettings) -> None:
        """Raise :class:`ConfigurationError` naming the arm and field when an arm of
        ``experiment`` cannot build a page (unknown settings or components)."""
        check_arms(self._settings, experiment, self._filters, self._prefix(experiment.name))

    def set_running(self, experiments: Sequence[ExperimentSettings]) -> None:
        """Serve these experiments from the next page on (each checked first)."""
        for experiment in experiments:
            self.check(experiment)
        with self._lock:
            self._running = tuple(experiments)
            self._built = {(): self._built[()]}

    def for_user(self, user_id: str) -> tuple[Variant, Declared]:
        """The user's variant and its stages (the configured page when no experiment runs)."""
        running = self._running
        arms = tuple((experiment.name, assign_arm(experiment, user_id)) for experiment in running)
        found = self._built.get(arms)
        if found is None:
            with self._lock:
                found = self._built.get(arms)
                if found is None:
                    variant = self._build(arms, running)
                    found = self._built[arms] = (variant, self._declare(variant))
        return found

    def _prefix(self, name: str) -> str | None:
        """How errors name an experiment: as the setting ("experiment"), or by name (None)."""
        declared = self._settings.experiment
        return "experiment" if declared is not None and declared.name == name else None

    def _build(self, arms: Arms, experiments: Sequence[ExperimentSettings] = ()) -> Variant:
        by_name = {experiment.name: experiment for experiment in experiments}
        chosen = [(by_name[name], arm) for name, arm in arms]
        try:
            settings = self._settings.for_arms(chosen)
        except ValueError as error:
            raise ConfigurationError(str(error)) from None
        _components("homepage", settings, self._filters)
        declared = settings.homepage
        versions = [experiment.arms[arm].model_version for experiment, arm in chosen]
        shared = self._services(settings)
        return Variant(
            arms,
            settings,
            shared,
            [SOURCES[name](shared) for name in declared.sources],
            [SOURCES[name](shared) for name in declared.fill],
            [self._filters[name]() for name in declared.filters],
            next((version for version in versions if version), None),
        )
