"""Experiment statistics with the user as the unit.

A user's impressions are not independent (one person clicks a lot, another never), so a test
that counts impressions as independent trials reports p-values that are too small. Here a rate
such as CTR is a ratio of per-user sums (clicks / impressions over the arm's users) and its
variance comes from the delta method over users (Deng, Knoblich and Lu, "Applying the Delta
Method in Metric Analytics", KDD 2018); the interval is checked by a bootstrap that resamples
users. Planning uses the same per-user variance: the minimum detectable effect of a design and
the users it needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True)
class RatioSample:
    """One arm's users: per user, the denominator (e.g. impressions) and the numerator (e.g.
    clicked impressions)."""

    shown: np.ndarray
    hits: np.ndarray

    @property
    def users(self) -> int:
        return len(self.shown)

    @property
    def rate(self) -> float:
        total = float(self.shown.sum())
        return float(self.hits.sum()) / total if total else 0.0

    def unit_variance(self) -> float:
        """Per-user variance of the rate (the delta method): the rate's variance is this over
        the number of users."""
        if self.users < 2 or not self.shown.any():
            return 0.0
        rate = self.rate
        residual = self.hits - rate * self.shown
        return float(np.var(residual, ddof=1)) / float(np.mean(self.shown)) ** 2


@dataclass(frozen=True)
class Comparison:
    """A treatment arm against the control arm on one rate."""

    difference: float  # treatment rate - control rate
    relative: float | None  # difference / control rate
    standard_error: float
    p_value: float | None  # two-sided, the delta method's z-test (None: an arm has < 2 users)
    interval: tuple[float, float]  # the difference's (1 - alpha) interval, delta method
    bootstrap: tuple[float, float] | None  # the same interval by resampling users
    mde: float | None  # the absolute difference this design detects with the planned power


def compare(
    control: RatioSample,
    treatment: RatioSample,
    alpha: float = 0.05,
    power: float = 0.8,
    bootstrap_rounds: int = 2000,
    seed: int = 0,
) -> Comparison:
    """The difference of the treatment's rate from the control's with users as the unit."""
    difference = treatment.rate - control.rate
    relative = difference / control.rate if control.rate else None
    variance = _variance_of_difference(control, treatment)
    error = math.sqrt(variance)
    z_alpha = float(norm.ppf(1 - alpha / 2))
    p_value: float | None = None  # too few users to estimate a variance
    if control.users >= 2 and treatment.users >= 2:
        p_value = float(2 * norm.sf(abs(difference) / error)) if error > 0 else float(difference == 0)
    interval = (difference - z_alpha * error, difference + z_alpha * error)
    rounds = bootstrap_rounds if control.users >= 2 and treatment.users >= 2 else 0
    boot = bootstrap_interval(control, treatment, alpha, rounds, seed) if rounds else None
    mde = (z_alpha + float(norm.ppf(power))) * error if error > 0 else None
    return Comparison(difference, relative, error, p_value, interval, boot, mde)


def _variance_of_difference(control: RatioSample, treatment: RatioSample) -> float:
    if control.users < 2 or treatment.users < 2:
        return 0.0
    return control.unit_variance() / control.users + treatment.unit_variance() / treatment.users


def bootstrap_interval(
    control: RatioSample, treatment: RatioSample, alpha: float = 0.05, rounds: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of the difference of rates, resampling each arm's users (the Poisson
    bootstrap: each user's weight per round is Poisson(1), which streams and parallelises)."""
    rng = np.random.default_rng(seed)
    differences = np.empty(rounds)
    chunk = max(1, 4_000_000 // max(control.users, treatment.users, 1))
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        rates = []
        for sample in (control, treatment):
            weights = rng.poisson(1.0, size=(size, sample.users)).astype(np.float64)
            shown = weights @ sample.shown
            rates.append(np.divide(weights @ sample.hits, shown, out=np.zeros(size), where=shown > 0))
        differences[start : start + size] = rates[1] - rates[0]
    low, high = np.quantile(differences, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def minimum_detectable_effect(
    unit_variance: float, users_per_arm: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """The smallest absolute difference of rates two equal arms of ``users_per_arm`` detect
    with probability ``power`` at two-sided level ``alpha``."""
    z = float(norm.ppf(1 - alpha / 2)) + float(norm.ppf(power))
    return z * math.sqrt(2 * unit_variance / users_per_arm)


def users_needed(unit_variance: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Users per arm (two equal arms) to detect an absolute difference ``effect``."""
    if effect <= 0:
        raise ValueError("the effect to detect must be positive")
    z = float(norm.ppf(1 - alpha / 2)) + float(norm.ppf(power))
    return math.ceil(2 * unit_variance * (z / effect) ** 2)


def impression_level_p_value(control: RatioSample, treatment: RatioSample) -> float | None:
    """The pooled two-proportion z-test over impressions: what a report gives when it treats
    every impression as an independent trial (too small under per-user correlation; kept to
    show the difference, see the calibration test)."""
    n_a, n_b = float(control.shown.sum()), float(treatment.shown.sum())
    if n_a == 0 or n_b == 0:
        return None
    pooled = (float(control.hits.sum()) + float(treatment.hits.sum())) / (n_a + n_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if spread == 0:
        return None
    return float(2 * norm.sf(abs(treatment.rate - control.rate) / spread))
