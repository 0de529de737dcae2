"""Experiment statistics are calibrated on simulated traffic: users differ in how much they
click and how often they come, so impressions are correlated within a user. Under no true
difference the per-user test rejects at its level; with a planted difference it has the power
it was planned for; the impression-level test it replaces rejects far too often."""

from __future__ import annotations

import numpy as np
import pytest

from homefeed.feedback.statistics import (
    RatioSample,
    compare,
    impression_level_p_value,
    minimum_detectable_effect,
    users_needed,
)

BASE_CTR = 0.05


def _arm(rng: np.random.Generator, users: int, lift: float = 0.0) -> RatioSample:
    """Users with their own click rate (Beta, mean 5 %) and their own number of impressions
    (1 + negative binomial, mean about 20): clicks are binomial per user."""
    rates = rng.beta(0.5, 9.5, size=users) * (1.0 + lift)
    shown = 1 + rng.negative_binomial(2, 2 / 21, size=users)
    return RatioSample(
        shown.astype(np.float64), rng.binomial(shown, np.minimum(rates, 1.0)).astype(np.float64)
    )


def test_no_difference_rejects_at_the_level_and_impression_counting_does_not() -> None:
    rng = np.random.default_rng(11)
    per_user, per_impression = [], []
    for _ in range(1000):
        control, treatment = _arm(rng, 500), _arm(rng, 500)
        result = compare(control, treatment, bootstrap_rounds=0)
        assert result.p_value is not None
        per_user.append(result.p_value < 0.05)
        per_impression.append((impression_level_p_value(control, treatment) or 1.0) < 0.05)
    assert 0.03 <= np.mean(per_user) <= 0.07
    assert np.mean(per_impression) > 0.15  # treating impressions as independent: p too small


def test_a_planted_difference_is_found_with_the_planned_power() -> None:
    rng = np.random.default_rng(12)
    pilot = _arm(rng, 200_000)  # what the log shows before the experiment
    lift = 0.10
    effect = BASE_CTR * lift
    users = users_needed(pilot.unit_variance(), effect, alpha=0.05, power=0.8)
    assert minimum_detectable_effect(pilot.unit_variance(), users) == pytest.approx(effect, rel=1e-3)
    found = []
    for _ in range(600):
        result = compare(_arm(rng, users), _arm(rng, users, lift), bootstrap_rounds=0)
        found.append(result.p_value is not None and result.p_value < 0.05 and result.difference > 0)
    assert 0.74 <= np.mean(found) <= 0.86  # planned 0.80; 600 runs: about ±0.016 standard error


def test_the_bootstrap_interval_covers_no_difference_at_its_level() -> None:
    rng = np.random.default_rng(13)
    covered, widths = [], []
    for seed in range(200):
        control, treatment = _arm(rng, 400), _arm(rng, 400)
        result = compare(control, treatment, bootstrap_rounds=400, seed=seed)
        assert result.bootstrap is not None
        low, high = result.bootstrap
        covered.append(low <= 0.0 <= high)
        widths.append((high - low) / (result.interval[1] - result.interval[0]))
    assert 0.91 <= np.mean(covered) <= 0.99
    assert 0.85 <= np.median(widths) <= 1.15  # the bootstrap agrees with the delta method


def test_small_and_empty_arms_give_no_p_value_rather_than_a_wrong_one() -> None:
    one = RatioSample(np.array([3.0]), np.array([1.0]))
    empty = RatioSample(np.array([]), np.array([]))
    assert compare(one, one).p_value is None and compare(one, one).bootstrap is None
    assert compare(empty, one).relative is None
    with pytest.raises(ValueError, match="positive"):
        users_needed(0.01, 0.0)
