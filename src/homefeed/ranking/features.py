"""Candidate features, one code path for training and for scoring.

A candidate is an item proposed for a user by one or more sources. Its features describe
how each source rates it (score as a z-score over the catalog, and rank), how popular it is
(all-time and lately), how close its text is to the user's recent history, how much
history the user has, how its categories match the history and the profile
(:mod:`homefeed.ranking.categories`), and the request's context: time, device, surface, the
item's age and its match with stated interests (:mod:`homefeed.ranking.context`). Every
feature has a name and an explicit default for when its input is missing (e.g. no item text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from homefeed.domain import UserProfile
from homefeed.models.context import DAY, RequestContext
from homefeed.models.data import Interactions
from homefeed.ranking.categories import CategoryStats
from homefeed.ranking.context import CONTEXT_FEATURES, ContextStats

RECENT_HALF_LIFE_DAYS = 30.0
HISTORY_HALF_LIFE = 10.0  # events: the 10th-latest liked item counts half (text, categories)
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
    creators: np.ndarray | None = None  # each item's creator as a code (-1: none), or None

    @classmethod
    def from_data(cls, data: Interactions) -> ItemStats:
        positive = data.weights > 0
        counts = np.bincount(data.items[positive], minlength=data.n_items).astype(np.float64)
        recent = np.zeros(data.n_items, dtype=np.float64)
        if positive.any():
            age = (data.timestamps[positive].max() - data.timestamps[positive]) / DAY
            decayed = 0.5 ** (age / RECENT_HALF_LIFE_DAYS)
            recent = np.bincount(data.items[positive], weights=decayed, minlength=data.n_items).astype(
                np.float64
            )
        text = None
        if data.item_text is not None:
            norms = np.linalg.norm(data.item_text, axis=1, keepdims=True)
            text = (data.item_text / np.maximum(norms, 1e-12)).astype(np.float32)
        return cls(np.log1p(counts), np.log1p(recent), text, creator_codes(data))


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
        Feature("category_affinity", 0.0, "share of the recent history in the item's categories"),
        Feature("profile_category_lift", 0.0, "how much the user's profile groups favour its categories"),
        Feature(
            "text_to_disliked", 0.0, "the highest cosine of the item's text to an item the user disliked"
        ),
        Feature("disliked_in_category", 0.0, "log(1 + the user's disliked items in the item's categories)"),
        Feature("disliked_creator", 0.0, "1 when the user disliked an item by the item's creator"),
        *(Feature(name, default, description) for name, default, description in CONTEXT_FEATURES),
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
    categories: CategoryStats,
    context_stats: ContextStats,
    profile: UserProfile | None = None,
    context: RequestContext | None = None,
    disliked: np.ndarray | None = None,
) -> np.ndarray:
    """Features [len(candidates), n_features] in :func:`feature_list` order; ``disliked``: the
    items the user gave negative feedback (a dislike, "see less"), which training reads from
    the same log, so the ranker learns how far to push their likes down."""
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
    recent, weights = recent_weighted(history)
    columns += list(_text_features(stats.text, candidates, history, recent, weights))
    columns.append(np.full(len(candidates), np.log1p(len(history))))
    columns += [
        categories.affinity(recent, weights, candidates),
        categories.profile_lift(profile, candidates),
    ]
    columns += _disliked_features(stats, categories, candidates, disliked)
    columns += context_stats.features(context, candidates, stats.text)
    return np.column_stack(columns).astype(np.float32)


def creator_codes(data: Interactions) -> np.ndarray | None:
    """Each item's creator as an integer code (-1: none), or None without item fields."""
    if data.item_fields is None:
        return None
    codes: dict[str, int] = {}
    names = [(fields.creator or "").strip().lower() for fields in data.item_fields]
    return np.array([codes.setdefault(name, len(codes)) if name else -1 for name in names], dtype=np.int64)


def _disliked_features(
    stats: ItemStats, categories: CategoryStats, candidates: np.ndarray, disliked: np.ndarray | None
) -> list[np.ndarray]:
    if disliked is None or len(disliked) == 0:
        return [np.zeros(len(candidates)) for _ in range(3)]
    text, creators = stats.text, stats.creators
    nearest = np.zeros(len(candidates))
    if text is not None:
        nearest = (text[candidates] @ text[disliked].T).max(axis=1)
    count = categories.affinity(disliked, np.ones(len(disliked)), candidates) * len(disliked)
    same = np.zeros(len(candidates))
    if creators is not None:
        theirs = creators[disliked]
        same = np.isin(creators[candidates], theirs[theirs >= 0]).astype(np.float64)
    return [nearest, np.log1p(count), same]


def recent_weighted(history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The latest liked items that count (older ones weigh under 3 %) and their recency weights."""
    recent = history[-5 * int(HISTORY_HALF_LIFE) :]
    ages = np.arange(len(recent) - 1, -1, -1, dtype=np.float64)
    return recent, 0.5 ** (ages / HISTORY_HALF_LIFE)


def _text_features(
    text: np.ndarray | None,
    candidates: np.ndarray,
    history: np.ndarray,
    recent: np.ndarray,
    weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    if text is None or len(history) == 0:
        return np.zeros(len(candidates)), np.zeros(len(candidates))
    profile = weights.astype(np.float32) @ text[recent]
    profile /= max(float(np.linalg.norm(profile)), 1e-12)
    both = text[candidates] @ np.stack([profile, text[history[-1]]], axis=1)  # one pass over the rows
    return both[:, 0], both[:, 1]
