"""The closed-loop simulator: people with planted tastes click what suits them, a page that
learns from their clicks beats a popularity page by a stated margin, and a page without
exploration narrows what it shows day after day (the feedback loop)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from homefeed.cli import app
from homefeed.config import Settings
from homefeed.simulation import SimulationConfig, World, simulate, summary


def _quick(tmp_path: Path) -> Settings:
    """The page without the text encoder (seconds, not minutes), training on one thread; the
    simulation keeps its own store in the folder it is given."""
    return Settings(data_dir=tmp_path / "data", semantic={"enabled": False}, threads=1)


def test_people_click_what_their_hidden_taste_likes() -> None:
    world = World(
        preferences={"fan": np.array([0.95, 0.05])},
        activity={"fan": 1.0},
        topic={"a": 0, "b": 1},
        quality={"a": 1.0, "b": 1.0},
        published={"a": 0.0, "b": 0.0},
        start=0.0,
    )
    rng = np.random.default_rng(0)
    first = _clicks_at([world.clicks("fan", ["a", "b"], 0.0, set(), rng) for _ in range(4000)])
    swapped = _clicks_at([world.clicks("fan", ["b", "a"], 0.0, set(), rng) for _ in range(4000)])
    assert first[0] > 8 * first[1]  # the loved topic, on top
    assert swapped[1] > 8 * swapped[0]  # … and lower down, still far more than the other
    assert first[0] > swapped[1]  # the top position is examined more often
    assert world.clicks("fan", ["a"], 0.0, {"a"}, rng) == []  # clicked before: not again


def _clicks_at(pages: list[list[int]]) -> dict[int, int]:
    """How often each of two positions was clicked."""
    counts = {0: 0, 1: 0}
    for positions in pages:
        for position in positions:
            counts[position] += 1
    return counts


def test_a_page_that_learns_beats_popularity_by_twice_the_ctr(tmp_path: Path) -> None:
    config = SimulationConfig(days=8, users=200, items=300, seed=0)  # arms: learning, popular
    results = simulate(config, tmp_path / "sim", _quick(tmp_path))
    assert {(r.day, r.arm) for r in results} == {(d, a) for d in range(1, 9) for a in ("learning", "popular")}
    assert len({r.version for r in results}) == 8  # a new version every simulated day
    figures = summary(results, last_days=8)
    assert figures["learning"]["ctr_last"] >= 2 * figures["popular"]["ctr_last"]
    assert figures["learning"]["coverage_last"] > 3 * figures["popular"]["coverage_last"]


def test_without_exploration_the_page_narrows_day_after_day(tmp_path: Path) -> None:
    arms = {"explore": {}, "no-explore": {"homepage": {"exploration_slots": 0}}}
    config = SimulationConfig(days=12, users=200, items=800, seed=0, new_items=False, arms=arms)
    figures = summary(simulate(config, tmp_path / "sim", _quick(tmp_path)), last_days=4)["no-explore"]
    assert figures["gini_last"] > figures["gini_first"] + 0.01  # impressions concentrate on fewer items
    assert figures["coverage_last"] < figures["coverage_first"]  # and fewer items are shown at all


def test_the_command_prints_the_ctr_of_each_arm_per_day(tmp_path: Path) -> None:
    env = {"HOMEFEED_SEMANTIC__ENABLED": "false", "HOMEFEED_THREADS": "1"}
    out = tmp_path / "days.json"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--days",
            "2",
            "--users",
            "40",
            "--items",
            "60",
            "--warmup-days",
            "5",
            "--out",
            str(out),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "learning" in result.output and "popular" in result.output and "CTR" in result.output
    assert out.read_text().count('"arm"') == 4
