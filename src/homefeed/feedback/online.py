"""Online metrics of an A/B experiment from the impression log: per arm, how many shown items
were clicked (CTR) and bought (CVR) within an attribution window, and whether each arm differs
from the baseline arm (a two-sided two-proportion z-test)."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from homefeed.config import Settings
from homefeed.store import Store

CONVERSIONS = ("purchase",)  # event types that count as a conversion unless told otherwise


@dataclass(frozen=True)
class ArmOutcome:
    """One arm's impressions and what followed them. ``ctr`` and ``cvr`` are per impression;
    the p-values compare with the baseline arm (None for the baseline itself)."""

    arm: str
    users: int
    impressions: int
    clicked: int
    converted: int
    ctr_p_value: float | None = None
    cvr_p_value: float | None = None

    @property
    def ctr(self) -> float:
        return self.clicked / self.impressions if self.impressions else 0.0

    @property
    def cvr(self) -> float:
        return self.converted / self.impressions if self.impressions else 0.0


def two_proportion_p_value(hits_a: int, n_a: int, hits_b: int, n_b: int) -> float | None:
    """Two-sided p-value that two rates differ (pooled z-test); None when it is undefined."""
    if n_a == 0 or n_b == 0:
        return None
    pooled = (hits_a + hits_b) / (n_a + n_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if spread == 0:
        return None
    z = (hits_a / n_a - hits_b / n_b) / spread
    return math.erfc(abs(z) / math.sqrt(2))


def experiment_outcomes(
    store: Store,
    experiment: str,
    click_types: Collection[str],
    conversion_types: Collection[str],
    window_seconds: float = 86_400.0,
    arms: Sequence[str] = (),
    since: float | None = None,
) -> list[ArmOutcome]:
    """Per arm of ``experiment``: an impression counts as clicked (converted) when the same
    user had an event of ``click_types`` (``conversion_types``) on the same item within
    ``window_seconds`` after it. Arms come in ``arms`` order (the first is the baseline),
    then any other arm found in the log."""
    found = store.logs.arm_outcomes(experiment, click_types, conversion_types, window_seconds, since)
    rows = {
        arm: ArmOutcome(arm, users, shown, clicked, converted)
        for arm, users, shown, clicked, converted in found
    }
    order = [arm for arm in arms if arm in rows] + sorted(set(rows) - set(arms))
    if not order:
        return []
    base = rows[order[0]]
    outcomes = [base]
    for arm in order[1:]:
        row = rows[arm]
        outcomes.append(
            ArmOutcome(
                row.arm,
                row.users,
                row.impressions,
                row.clicked,
                row.converted,
                two_proportion_p_value(row.clicked, row.impressions, base.clicked, base.impressions),
                two_proportion_p_value(row.converted, row.impressions, base.converted, base.impressions),
            )
        )
    return outcomes


@dataclass(frozen=True)
class ExperimentReport:
    """The outcomes of one experiment and what counted as a click and a conversion."""

    click_types: list[str]
    conversion_types: list[str]
    arms: list[ArmOutcome]


def experiment_report(
    store: Store,
    settings: Settings,
    name: str,
    window_seconds: float,
    conversion_types: Collection[str] | None = None,
) -> ExperimentReport:
    """:func:`experiment_outcomes` as configured: any positive event type is a click, the
    conversions default to CONVERSIONS, and the arms of the running experiment come in
    configured order when ``name`` is it."""
    running = settings.experiment
    arms = list(running.arms) if running is not None and running.name == name else []
    clicks, conversions = settings.events.positive_types, sorted(conversion_types or CONVERSIONS)
    outcomes = experiment_outcomes(store, name, clicks, conversions, window_seconds, arms)
    return ExperimentReport(clicks, conversions, outcomes)
