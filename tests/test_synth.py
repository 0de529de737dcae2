"""The synthetic generator plants the structure the engine's tests rely on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from homefeed.datasets.synth import SynthConfig, generate, in_rounds, load_ground_truth


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


def _chosen_taste(folder: Path) -> float:
    truth = load_ground_truth(folder)
    prefs, topic_of = truth["user_preferences"], truth["item_topic"]
    events = _rows(folder / "events.jsonl")
    return float(
        np.mean([prefs[e["user_id"]][topic_of[e["item_id"]]] for e in events if e["type"] != "dislike"])
    )


def test_rounds_plant_the_same_structure_as_one_event_at_a_time(tmp_path: Path) -> None:
    base = SynthConfig(users=400, items=300, days=12, topics=6, seed=5)
    generate(SynthConfig(**{**base.__dict__, "rounds": False}), tmp_path / "events")
    generate(SynthConfig(**{**base.__dict__, "rounds": True}), tmp_path / "rounds")
    one, batched = _rows(tmp_path / "events" / "events.jsonl"), _rows(tmp_path / "rounds" / "events.jsonl")
    assert abs(len(batched) - len(one)) < 0.05 * len(one)
    assert abs(_chosen_taste(tmp_path / "rounds") - _chosen_taste(tmp_path / "events")) < 0.03
    assert _chosen_taste(tmp_path / "rounds") > 2.5 / 6
    items = {row["id"]: row for row in _rows(tmp_path / "rounds" / "items.jsonl")}
    assert [e["timestamp"] for e in batched] == sorted(e["timestamp"] for e in batched)
    assert all(items[e["item_id"]]["published_at"] <= e["timestamp"] for e in batched)
    assert len({(e["user_id"], e["item_id"]) for e in batched}) == len(batched)  # nobody picks twice
    assert len({e["event_id"] for e in batched}) == len(batched)
    hours = np.array([e["timestamp"] % 86_400 for e in batched])
    users = np.array([int(str(e["user_id"])[1:]) for e in batched])
    assert abs(np.corrcoef(hours, users)[0, 1]) < 0.1  # nobody's day is earlier for their number

    def share_of_top_tenth(events: list[dict[str, object]]) -> float:
        counts = np.sort(np.unique([e["item_id"] for e in events], return_counts=True)[1])[::-1]
        return float(counts[: len(counts) // 10].sum() / counts.sum())

    assert abs(share_of_top_tenth(batched) - share_of_top_tenth(one)) < 0.05  # the same head


def test_rounds_are_reproducible_and_keep_every_option(tmp_path: Path) -> None:
    config = SynthConfig(
        users=120, items=200, days=6, seed=2, rounds=True, taste_drift=0.5, play_counts=True, ordered=False
    )
    generate(config, tmp_path / "a")
    generate(config, tmp_path / "b")
    assert (tmp_path / "a" / "events.jsonl").read_bytes() == (tmp_path / "b" / "events.jsonl").read_bytes()
    events = _rows(tmp_path / "a" / "events.jsonl")
    assert len({e["timestamp"] for e in events}) == 1  # an export: one moment
    assert all(isinstance(e["value"], int) and e["value"] >= 1 for e in events if e["type"] != "dislike")
    dressed = SynthConfig(users=120, items=200, days=6, seed=2, rounds=True, domain="video")
    summary = generate(dressed, tmp_path / "video")
    watched = [e for e in _rows(tmp_path / "video" / "events.jsonl") if e["type"] == "watch"]
    assert summary.events > len(watched) > 0 and all(0.2 <= float(e["value"]) <= 1.0 for e in watched)


def test_large_logs_are_drawn_in_rounds_unless_asked_otherwise() -> None:
    assert not in_rounds(SynthConfig())
    assert in_rounds(SynthConfig(users=50_000, items=20_000))
    assert not in_rounds(SynthConfig(users=50_000, items=20_000, rounds=False))
    assert in_rounds(SynthConfig(rounds=True))
