"""Candidate features, one code path for training and for scoring.

A candidate is an item proposed for a user by one or more sources. Its features describe
how each source rates it (score as a z-score over the catalog, and rank), how popular it is
(all-time and lately), how close its text is to the user's recent history, and how much
history the user has. Every feature has a name and an explicit default for when its input
is missing (e.g. no item text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from homefeed.models.data import Interactions
from homefeed.understanding.item_features import ItemFeatureSpace

DAY = 86_400.0
RECENT_HALF_LIFE_DAYS = 30.0
TEXT_HALF_LIFE = 10.0  # events: the 10th-latest counts half
MISSING_RANK = 1e6


@dataclass(frozen=True)
class Feature:
    name: str
    default: float
    description: str


@dataclass
class ItemStats:
    """Item-level inputs, computed once at training time and saved with the ranker."""

    log_popularity: np.ndarray  # log(1 + users who picked it)
    recent_popularity: np.ndarray  # log(1 + time-decayed picks), half-life 30 days
    text: np.ndarray | None  # unit text vectors, or None
    tags: np.ndarray | None = None  # [items, tags] indicators of the most frequent tags
    age_years: np.ndarray | None = None  # years from publication to the newest event; -1 unknown

    @classmethod
    def from_data(cls, data: Interactions) -> ItemStats:
        positive = data.weights > 0
        counts = np.bincount(data.items[positive], minlength=data.n_items).astype(np.float64)
        recent = np.zeros(data.n_items, dtype=np.float64)
        newest = float(data.timestamps[positive].max()) if positive.any() else 0.0
        if positive.any():
            age = (newest - data.timestamps[positive]) / DAY
            decayed = 0.5 ** (age / RECENT_HALF_LIFE_DAYS)
            recent = np.bincount(data.items[positive], weights=decayed, minlength=data.n_items).astype(
                np.float64
            )
        text = None
        if data.item_text is not None:
            norms = np.linalg.norm(data.item_text, axis=1, keepdims=True)
            text = (data.item_text / np.maximum(norms, 1e-12)).astype(np.float32)
        tags = age_years = None
        if data.item_fields is not None:
            space = ItemFeatureSpace.fit(data.item_fields, time_steps=0)
            tags = space.transform(data.item_fields)[:, : len(space.tags)]
            published = np.array(
                [np.nan if item.published_at is None else item.published_at for item in data.item_fields]
            )
            age_years = np.where(np.isnan(published), -1.0, (newest - published) / (365.25 * DAY))
        return cls(np.log1p(counts), np.log1p(recent), text, tags, age_years)


def feature_list(sources: Sequence[str]) -> list[Feature]:
    """The features, in column order, for rankers over ``sources``."""
    per_source = [
        feature
        for name in sources
        for feature in (
            Feature(f"{name}_z", -5.0, f"{name} score as a z-score over the user's rankable items"),
            Feature(f"{name}_log_rank", np.log1p(MISSING_RANK), f"log(1 + rank) of the item by {name}"),
        )
    ]
    return [
        *per_source,
        Feature("sources", 0.0, "how many sources put the item in their top candidates"),
        Feature("log_popularity", 0.0, "log(1 + users who picked the item)"),
        Feature("recent_popularity", 0.0, "log(1 + picks decayed with a 30-day half-life)"),
        Feature("text_to_history", 0.0, "cosine of the item's text to the recency-weighted history"),
        Feature("text_to_last", 0.0, "cosine of the item's text to the latest liked item"),
        Feature("log_history", 0.0, "log(1 + the user's number of liked items)"),
        Feature("item_age_years", -1.0, "years from the item's publication to the newest event"),
        Feature("tag_affinity", 0.0, "cosine of the item's tags to the recency-weighted history's"),
    ]


def candidates_from(scores: Mapping[str, np.ndarray], blocked: np.ndarray, per_source: int) -> np.ndarray:
    """The union of every source's ``per_source`` best items that are not ``blocked``."""
    chosen: list[np.ndarray] = []
    for values in scores.values():
        masked = np.where(blocked, -np.inf, values)
        k = min(per_source, int(np.isfinite(masked).sum()))
        if k > 0:
            top = np.argpartition(-masked, k - 1)[:k]
            chosen.append(top[np.isfinite(masked[top])])
    return np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def candidate_features(
    scores: Mapping[str, np.ndarray],
    candidates: np.ndarray,
    history: np.ndarray,
    blocked: np.ndarray,
    stats: ItemStats,
    per_source: int,
) -> np.ndarray:
    """Features [len(candidates), n_features] in :func:`feature_list` order."""
    columns: list[np.ndarray] = []
    in_top = np.zeros(len(candidates))
    for values in scores.values():
        rankable = np.sort(values[~blocked & np.isfinite(values)])
        if len(rankable) == 0:
            columns += [np.full(len(candidates), -5.0), np.full(len(candidates), np.log1p(MISSING_RANK))]
            continue
        mean, std = rankable.mean(), rankable.std() or 1.0
        mine = values[candidates]
        rank = len(rankable) - np.searchsorted(rankable, mine, side="right")  # items scored higher
        columns += [np.clip((mine - mean) / std, -10, 10), np.log1p(rank)]
        in_top += rank < per_source
    columns += [in_top, stats.log_popularity[candidates], stats.recent_popularity[candidates]]
    columns += list(_text_features(stats.text, candidates, history))
    columns.append(np.full(len(candidates), np.log1p(len(history))))
    columns.append(
        stats.age_years[candidates] if stats.age_years is not None else np.full(len(candidates), -1.0)
    )
    columns.append(_tag_affinity(stats.tags, candidates, history))
    return np.column_stack(columns).astype(np.float32)


def _recency_weights(history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The latest 5 half-lives of the history and their weights (the latest counts 1)."""
    recent = history[-5 * int(TEXT_HALF_LIFE) :]
    ages = np.arange(len(recent) - 1, -1, -1, dtype=np.float64)
    return recent, 0.5 ** (ages / TEXT_HALF_LIFE)


def _tag_affinity(tags: np.ndarray | None, candidates: np.ndarray, history: np.ndarray) -> np.ndarray:
    if tags is None or len(history) == 0 or tags.shape[1] == 0:
        return np.zeros(len(candidates))
    recent, weights = _recency_weights(history)
    profile = (tags[recent] * weights[:, None]).sum(axis=0)
    profile /= max(float(np.linalg.norm(profile)), 1e-12)
    mine = tags[candidates]
    affinity: np.ndarray = (mine @ profile) / np.maximum(np.sqrt(mine.sum(axis=1)), 1.0)
    return affinity


def _text_features(
    text: np.ndarray | None, candidates: np.ndarray, history: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    if text is None or len(history) == 0:
        return np.zeros(len(candidates)), np.zeros(len(candidates))
    recent, weights = _recency_weights(history)
    profile = (text[recent] * weights[:, None]).sum(axis=0)
    profile /= max(float(np.linalg.norm(profile)), 1e-12)
    vectors = text[candidates]
    return vectors @ profile, vectors @ text[history[-1]]
