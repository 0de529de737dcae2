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
from dataclasses import dataclass, replace

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


EXACT_RANKS = 16_384  # catalogs up to this size rank every item exactly (see SourceView)
EXACT_HEAD = 2_048  # in a larger catalog, the ranks that stay exact
RESCORED_HEAD = 256  # and the ranks that stay exact when an explanation rescores a view


def reference_items(n_items: int) -> np.ndarray | None:
    """The items a larger catalog's source views summarise the rest from: every ``stride``-th
    item, about ``EXACT_RANKS // 2`` of them; None when the catalog is small enough to rank
    every item exactly."""
    if n_items <= EXACT_RANKS:
        return None
    return np.arange(0, n_items, n_items // (EXACT_RANKS // 2), dtype=np.int64)


@dataclass(frozen=True)
class SourceView:
    """One source's scores for one user, summarised once per page: the mean and spread over the
    rankable items (not seen, not blocked), its ``top`` items, and sorted scores to rank any
    item against.

    Up to ``EXACT_RANKS`` items that is all of them, so every rank is exact. A larger catalog
    is summarised from its reference items (:func:`reference_items`): their mean and spread,
    and a ``ladder`` of their sorted scores, each step standing for ``stride`` items; only the
    ``head`` (the best ``EXACT_HEAD`` or so rankable items) is ranked exactly. So a page never
    sorts the whole catalog, and an explanation's rescoring (:meth:`rescored`) scores the
    best ``RESCORED_HEAD`` items and the page's, not every item. A source that scores by
    vectors does not even score every item: its head is searched in its vector index
    (:class:`homefeed.ranking.searched.SearchedSource`)."""

    values: np.ndarray  # the scores of every item, or of the ``known`` items
    mean: float
    std: float
    top: np.ndarray  # the best ``per_source`` rankable items (in no order; none when rescored)
    head: np.ndarray  # the best rankable scores, ascending, ranked exactly
    ladder: np.ndarray  # the rankable scores of every item, or of the reference items, ascending
    stride: float  # items per step of the ladder
    exact_from: float = -np.inf  # the head holds every rankable item scoring above this
    known: np.ndarray | None = None  # the sorted items ``values`` are of (None: every item)
    # a large catalog's items a rescoring ranks exactly: those scoring ``rescore_bar`` or more
    rescore_items: np.ndarray | None = None
    rescore_bar: float = -np.inf
    # a vector source's view searched in its index (ranking.searched): item vectors and the
    # user's vector, whose inner products are the scores (``values`` is then empty)
    scorer: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def of(
        cls, values: np.ndarray, blocked: np.ndarray, per_source: int, reference: np.ndarray | None = None
    ) -> SourceView | None:
        """The view of ``values`` (every item's score) ranked exactly, or summarised from the
        ``reference`` items when given; None when the source ranks nothing."""
        if reference is not None:
            view = cls._summarised(values, blocked, per_source, reference)
            if view is not None:
                return view
        masked = np.where(blocked, -np.inf, values)
        finite = np.isfinite(masked)
        rankable = masked[finite]
        if len(rankable) == 0:
            return None
        k = min(per_source, len(rankable))
        ladder = np.sort(rankable)
        top = np.argpartition(-masked, k - 1)[:k]
        top = top[np.isfinite(masked[top])]
        # a large catalog's few rankable items are all ranked exactly when rescored
        every = np.flatnonzero(finite) if reference is not None else None
        # the sorted scores, summed as they always were
        mean, std = float(ladder.mean()), float(ladder.std()) or 1.0
        return cls(values, mean, std, top, ladder, ladder, 1, rescore_items=every)

    @classmethod
    def _summarised(
        cls, values: np.ndarray, blocked: np.ndarray, per_source: int, reference: np.ndarray
    ) -> SourceView | None:
        """The view from the reference items' scores, with an exact head: the items above a
        bar that the ladder says about ``EXACT_HEAD`` clear. Items tied at the bar (a sparse
        source's zeros) stay out of the head and fill the top when the head is short. None
        when no reference item is rankable."""
        sampled = values[reference]
        ladder = np.sort(sampled[np.isfinite(sampled) & ~blocked[reference]])
        stride = len(values) / len(reference)
        if len(ladder) == 0:
            return None
        bar = ladder[max(0, len(ladder) - int(max(per_source, EXACT_HEAD) / stride + 2))]
        above = np.flatnonzero(values > bar)
        above = above[~blocked[above]]
        order = np.argsort(values[above], kind="stable")
        head, best = values[above][order], above[order]
        top = best[-per_source:]
        if len(top) < per_source:
            tied = np.flatnonzero(values == bar)
            top = np.concatenate([top, tied[~blocked[tied]][: per_source - len(top)]])
        rescored = best[-max(RESCORED_HEAD, 2 * per_source) :]
        bar_again = float(values[rescored[0]]) if len(rescored) else float(bar)
        mean, std = float(ladder.mean()), float(ladder.std()) or 1.0
        return cls(values, mean, std, top, head, ladder, stride, float(bar), None, rescored, bar_again)

    def rescored(self, values: np.ndarray, known: np.ndarray, blocked: np.ndarray) -> SourceView:
        """This view read with new scores of the ``known`` items (sorted: its ``rescore_items``
        and the items its history held among them), for a history close to the one it
        summarises (one liked item left out, for an explanation). Its mean, spread and ladder
        stay; its head becomes the known rankable items at or above ``rescore_bar``."""
        assert self.rescore_items is not None, "only a large catalog's view is rescored"
        rankable = ~blocked[known] & np.isfinite(values)
        head = np.sort(values[rankable & (values >= self.rescore_bar)])
        ladder = head if self.stride == 1 else self.ladder  # the head is every rankable item
        top = np.zeros(0, dtype=np.int64)
        below = np.nextafter(self.rescore_bar, -np.inf)  # the head holds the items at the bar too
        return replace(
            self, values=values, known=known, top=top, head=head, ladder=ladder, exact_from=below, scorer=None
        )

    def scores(self, items: np.ndarray) -> np.ndarray:
        """The source's scores of ``items`` (among the ``known`` ones when it scored only some)."""
        if self.scorer is not None:
            return inner_products(*self.scorer, items)
        if self.known is None:
            return np.asarray(self.values[items])
        return np.asarray(self.values[np.searchsorted(self.known, items)])

    def ranks(self, items: np.ndarray) -> np.ndarray:
        """How many rankable items score above each of ``items``: exact down to ``exact_from``
        (the head holds every item above it), past it estimated from the ladder (and never
        less than the head's size)."""
        mine = self.scores(items)
        above_on_ladder = len(self.ladder) - np.searchsorted(self.ladder, mine, side="right")
        if self.stride == 1:
            return np.asarray(above_on_ladder)
        estimate = np.round(above_on_ladder * self.stride)
        exact = len(self.head) - np.searchsorted(self.head, mine, side="right")
        return np.asarray(np.where(mine >= self.exact_from, exact, np.maximum(estimate, len(self.head))))


def inner_products(vectors: np.ndarray, user: np.ndarray, items: np.ndarray) -> np.ndarray:
    """The scores of ``items`` by a source scoring by vectors: their vectors times the user's."""
    return np.asarray(vectors[items].astype(np.float64) @ user)


def source_views(
    scores: Mapping[str, np.ndarray],
    blocked: np.ndarray,
    per_source: int,
    reference: np.ndarray | None = None,
    summary: Mapping[str, SourceView | None] | None = None,
    known: np.ndarray | None = None,
) -> dict[str, SourceView | None]:
    """Each source's view (None: it ranks nothing for this user): of every item's scores, or
    the ``summary`` views (of a close history) rescored with the ``known`` items' scores."""
    if summary is not None:
        assert known is not None, "a summary is rescored with the scores of the known items"
        return {
            name: None if (view := summary.get(name)) is None else view.rescored(values, known, blocked)
            for name, values in scores.items()
        }
    return {name: SourceView.of(values, blocked, per_source, reference) for name, values in scores.items()}


def candidates_from(views: Mapping[str, SourceView | None]) -> np.ndarray:
    """The union of every source's best items (not blocked, in order of item index)."""
    chosen = [view.top for view in views.values() if view is not None]
    return np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def candidate_features(
    views: Mapping[str, SourceView | None],
    candidates: np.ndarray,
    history: np.ndarray,
    stats: ItemStats,
    per_source: int,
    categories: CategoryStats,
    context_stats: ContextStats,
    profile: UserProfile | None = None,
    context: RequestContext | None = None,
    disliked: np.ndarray | None = None,
    shared: ItemColumns | None = None,
) -> np.ndarray:
    """Features [len(candidates), n_features] in :func:`feature_list` order; ``disliked``: the
    items the user gave negative feedback (a dislike, "see less"), which training reads from
    the same log, so the ranker learns how far to push their likes down. ``shared``: the
    columns that do not depend on the history, when already computed for these candidates,
    profile, context and dislikes (an explanation's histories share them)."""
    if shared is None:
        shared = ItemColumns.of(candidates, stats, categories, context_stats, profile, context, disliked)
    columns: list[np.ndarray] = []
    in_top = np.zeros(len(candidates))
    for view in views.values():
        if view is None:
            columns += [np.full(len(candidates), -5.0), np.full(len(candidates), np.log1p(MISSING_RANK))]
            continue
        mine = view.scores(candidates)
        rank = view.ranks(candidates)
        columns += [np.clip((mine - view.mean) / view.std, -10, 10), np.log1p(rank)]
        in_top += rank < per_source
    columns += [in_top, *shared.popularity]
    recent, weights = recent_weighted(history)
    columns += list(_text_features(stats.text, candidates, history, recent, weights))
    columns.append(np.full(len(candidates), np.log1p(len(history))))
    columns.append(categories.affinity(recent, weights, candidates))
    columns += shared.rest
    return np.column_stack(columns).astype(np.float32)


@dataclass(frozen=True)
class ItemColumns:
    """The feature columns of some candidates that do not depend on the history: popularity,
    then the profile's lift, the dislikes' and the request context's columns."""

    popularity: list[np.ndarray]
    rest: list[np.ndarray]

    @classmethod
    def of(
        cls,
        candidates: np.ndarray,
        stats: ItemStats,
        categories: CategoryStats,
        context_stats: ContextStats,
        profile: UserProfile | None,
        context: RequestContext | None,
        disliked: np.ndarray | None,
    ) -> ItemColumns:
        popularity = [stats.log_popularity[candidates], stats.recent_popularity[candidates]]
        rest = [
            categories.profile_lift(profile, candidates),
            *_disliked_features(stats, categories, candidates, disliked),
            *context_stats.features(context, candidates, stats.text),
        ]
        return cls(popularity, rest)


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
