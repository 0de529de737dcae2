"""A/B experiments on the homepage: which arm a user is in, and the pipeline components of
each arm (its own settings, sources, fill and filters), built and checked at start-up."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from homefeed.config import ExperimentSettings, Settings
from homefeed.errors import ConfigurationError
from homefeed.homepage.filters import CandidateFilter
from homefeed.homepage.sources import SOURCES, CandidateSource, PageServices


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
    """The components one arm's pages are built with (the whole page when no experiment runs)."""

    arm: str | None
    settings: Settings
    services: PageServices
    sources: list[CandidateSource]
    fill: list[CandidateSource]
    filters: list[CandidateFilter]


def _declared(where: str, names: Sequence[str], known: Collection[str]) -> None:
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigurationError(f"{where}: unknown component(s) {unknown}; valid names are {sorted(known)}")


def build_variants(
    settings: Settings,
    services: Callable[[Settings], PageServices],
    filters: dict[str, Callable[[], CandidateFilter]],
) -> dict[str | None, Variant]:
    """One variant per experiment arm, keyed by arm name; ``None`` is the configured page."""
    arms: list[str | None] = [None, *(settings.experiment.arms if settings.experiment else [])]
    variants: dict[str | None, Variant] = {}
    for arm in arms:
        chosen = settings.for_arm(arm)
        declared = chosen.homepage
        prefix = "homepage" if arm is None else f"experiment.arms.{arm}.homepage"
        _declared(f"{prefix}.sources", declared.sources, SOURCES)
        _declared(f"{prefix}.fill", declared.fill, SOURCES)
        _declared(f"{prefix}.filters", declared.filters, filters)
        shared = services(chosen)
        variants[arm] = Variant(
            arm,
            chosen,
            shared,
            [SOURCES[name](shared) for name in declared.sources],
            [SOURCES[name](shared) for name in declared.fill],
            [filters[name]() for name in declared.filters],
        )
    return variants
