"""The synthetic generator plants the structure the engine's tests rely on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from homefeed.datasets.synth import SynthConfig, generate, load_ground_truth


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_same_seed_same_data(tmp_path: Path) -> None:
    config = SynthConfig(users=50, items=60, days=5, topics=4, seed=3)
    generate(config, tmp_path / "a")
    generate(config, tmp_path / "b")
    for name in ("items.jsonl", "users.jsonl", "events.jsonl", "ground_truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_events_follow_planted_preferences(synth_folder: Path) -> None:
    truth = load_ground_truth(synth_folder)
    events = _rows(synth_folder / "events.jsonl")
    prefs = truth["user_preferences"]
    topic_of = truth["item_topic"]
    chosen = np.mean([prefs[e["user_id"]][topic_of[e["item_id"]]] for e in events if e["type"] != "dislike"])
    uniform = 1.0 / len(truth["topics"])
    assert chosen > 2.5 * uniform  # people pick what they like far more than chance
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps)
    items = {row["id"]: row for row in _rows(synth_folder / "items.jsonl")}
    assert all(items[e["item_id"]]["published_at"] <= e["timestamp"] for e in events)


def test_profiles_correlate_with_tastes(synth_folder: Path) -> None:
    truth = load_ground_truth(synth_folder)
    users = _rows(synth_folder / "users.jsonl")
    keys = [topic["key"] for topic in truth["topics"]]
    gardening = keys.index("gardening")
    football = keys.index("football")
    prefs = np.array([truth["user_preferences"][u["id"]] for u in users])
    ages = np.array([u["age"] for u in users], dtype=float)
    assert np.corrcoef(prefs[:, gardening], ages)[0, 1] > 0.3
    assert np.corrcoef(prefs[:, football], ages)[0, 1] < -0.2
    stated = [u for u in users if u["interests"]]
    assert 0.4 < len(stated) / len(users) < 0.8
