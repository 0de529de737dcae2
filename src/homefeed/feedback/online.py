"""Online metrics from the impression log: how many shown items were clicked (CTR) and bought
(CVR) within an attribution window, overall and per section, source, position, model version,
day or arm; and, for an A/B experiment, whether each arm differs from the baseline arm (a
two-sided two-proportion z-test)."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from homefeed.config import Settings
from homefeed.store import Store


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
    """:func:`experiment_outcomes` as configured: clicks are HOMEFEED_CLICK_TYPES, conversions
    default to HOMEFEED_CONVERSION_TYPES, and the arms of the running experiment come in
    configured order when ``name`` is it."""
    running = settings.experiment
    arms = list(running.arms) if running is not None and running.name == name else []
    clicks, conversions = list(settings.click_types), sorted(conversion_types or settings.conversion_types)
    outcomes = experiment_outcomes(store, name, clicks, conversions, window_seconds, arms)
    return ExperimentReport(clicks, conversions, outcomes)


DIMENSIONS = ("section", "source", "position", "version", "day", "arm")


@dataclass(frozen=True)
class Outcome:
    """Impressions with one value of a dimension (``key``) and what followed them."""

    key: str
    users: int
    impressions: int
    clicked: int
    converted: int

    @property
    def ctr(self) -> float:
        return self.clicked / self.impressions if self.impressions else 0.0

    @property
    def cvr(self) -> float:
        return self.converted / self.impressions if self.impressions else 0.0


@dataclass(frozen=True)
class OnlineReport:
    by: str
    since: float | None
    window_hours: float
    click_types: list[str]
    conversion_types: list[str]
    total: Outcome
    rows: list[Outcome]


def online_report(
    store: Store, settings: Settings, by: str, since: float | None = None, window_hours: float | None = None
) -> OnlineReport:
    """CTR and CVR of every impression since ``since``, overall and per value of ``by``
    (positions from 0, days as ISO dates), in the dimension's natural order."""
    if by not in DIMENSIONS:
        raise ValueError(f"by: expected one of {list(DIMENSIONS)}, got {by!r}")
    hours = window_hours if window_hours is not None else settings.attribution_hours
    clicks, conversions = list(settings.click_types), list(settings.conversion_types)
    found = store.logs.outcomes_by(by, clicks, conversions, hours * 3600, since)
    ordered = sorted(found, key=lambda row: _order(by, row[0]))
    rows = [
        Outcome(_label(by, key), users, shown, clicked, converted)
        for key, users, shown, clicked, converted in ordered
    ]
    overall = Outcome(
        "all",
        store.logs.impression_users(since),
        sum(row.impressions for row in rows),
        sum(row.clicked for row in rows),
        sum(row.converted for row in rows),
    )
    return OnlineReport(by, since, hours, clicks, conversions, overall, rows)


def _order(by: str, key: str) -> tuple[float, str]:
    return (float(key), key) if by in ("position", "day") and key.lstrip("-").isdigit() else (0.0, key)


def _label(by: str, key: str) -> str:
    if by == "day" and key.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(key) * 86_400, UTC).date().isoformat()
    return key
