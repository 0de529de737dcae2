"""Popularity tilted towards what people like this user choose: the new-user model.

A naive-Bayes reading of "what will a newcomer pick": start from how popular each item is
(all-time, mixed with what was picked in the weeks before the request: newcomers arrive
while some items are in the air), then add the evidence of each profile field ("women in
their twenties pick this 2x more than everyone") and of each of the first few items ("people
who picked X pick this 5x more often than everyone"). Smoothed towards popularity, so thin
evidence moves little.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from homefeed.domain import UserProfile
from homefeed.models.base import Recommender
from homefeed.models.context import DAY, RequestContext
from homefeed.models.data import Interactions
from homefeed.models.sparse_rows import blank_lines, rows_weighted_sum_at

PROFILE_FIELDS = ("gender", "age", "occupation", "location")
PAIR_BLOCK = 1 << 24  # item pairs counted at once at most (if every pair was picked together)
ATTRIBUTE = "attributes."  # a field "attributes.plan" reads the profile's attributes["plan"]


def profile_groups(profile: UserProfile | None, fields: Sequence[str]) -> list[str]:
    """The groups a profile belongs to, e.g. ["gender=f", "age=20s", "attributes.plan=pro"];
    fields the profile lacks add none."""
    if profile is None:
        return []
    groups = []
    for name in fields:
        if name == "age":
            if profile.age is not None:
                groups.append(f"age={min(profile.age // 10, 6) * 10}s")
            continue
        if name.startswith(ATTRIBUTE):
            value = profile.attributes.get(name[len(ATTRIBUTE) :])
        else:
            value = getattr(profile, name)
        if isinstance(value, str | int | bool):  # a category; measures (floats) and lists are not
            text = str(value).strip().lower()
            if text:
                groups.append(f"{name}={text}")
    return groups


def group_members(data: Interactions, fields: Sequence[str]) -> dict[str, list[int]]:
    """User indices of every profile group found in ``data.profiles``."""
    members: dict[str, list[int]] = {}
    for user, user_id in enumerate(data.user_ids):
        for group in profile_groups(data.profiles.get(user_id), fields):
            members.setdefault(group, []).append(user)
    return members


def smoothed_lift(picks: sp.spmatrix, share: np.ndarray, smoothing: float) -> np.ndarray:
    """log P(column | group) / P(column) over a group's ``picks`` rows, P(column | group)
    smoothed with ``smoothing`` pseudo-picks of the overall ``share``."""
    counts = np.asarray(picks.sum(axis=0)).ravel()
    within = (counts + smoothing * share) / (counts.sum() + smoothing)
    lift: np.ndarray = np.log(within / share)
    return lift


class ProfileRecommender(Recommender):
    """log P(item) + ``profile_weight`` x the lift of each profile group + ``history_weight`` /
    sqrt(n) x the lift of each of the n items in the history. Lifts are smoothed with
    ``smoothing`` pseudo-counts of overall popularity; each item keeps the ``neighbours``
    items most often picked with it. When the request's time is known, log P(item) is mixed
    (``trend_weight``) with the log share of picks in the ``trend_days`` before it, smoothed
    with ``trend_smoothing`` pseudo-picks of overall popularity. Defaults were chosen on
    pseudo-new users drawn from the training users, never on the test users."""

    name = "profile"
    personal = False  # its picks have their own row (the profile source)
    config_keys = (
        "fields",
        "profile_weight",
        "history_weight",
        "smoothing",
        "neighbours",
        "trend_days",
        "trend_weight",
        "trend_smoothing",
    )
    prefers_history = True
    reads_request = True

    def __init__(
        self,
        fields: Sequence[str] = ("gender", "age"),
        profile_weight: float = 0.5,
        history_weight: float = 0.4,
        smoothing: float = 50.0,
        neighbours: int = 200,
        trend_days: float = 14.0,
        trend_weight: float = 0.5,
        trend_smoothing: float = 1000.0,
    ) -> None:
        super().__init__()
        unknown = sorted(set(fields) - set(PROFILE_FIELDS) - {f for f in fields if f.startswith(ATTRIBUTE)})
        if unknown:
            raise ValueError(
                f"unknown profile fields {unknown}; expected some of {list(PROFILE_FIELDS)} "
                f"or {ATTRIBUTE}<key> for a profile attribute"
            )
        self.fields = tuple(fields)
        self.profile_weight = profile_weight
        self.history_weight = history_weight
        self.smoothing = smoothing
        self.neighbours = neighbours
        self.trend_days = trend_days
        self.trend_weight = trend_weight
        self.trend_smoothing = trend_smoothing
        self.log_popularity = np.zeros(0, dtype=np.float32)
        self.groups: list[str] = []
        self.group_lift = np.zeros((0, 0), dtype=np.float32)
        self.item_lift = sp.csr_matrix((0, 0), dtype=np.float32)
        self.user_groups = sp.csr_matrix((0, 0), dtype=np.float32)  # training users x groups
        self.history = sp.csr_matrix((0, 0), dtype=np.float32)  # training users x items picked
        self.pick_times = np.zeros(0, dtype=np.float64)  # every user's first pick of an item, by time
        self.pick_items = np.zeros(0, dtype=np.int32)
        # the mixed base scores of the latest trend window asked for, by (first, end) pick
        self._trend_cache: tuple[tuple[int, int], np.ndarray] | None = None

    def _fit(self, data: Interactions) -> None:
        self._trend_cache = None
        picked = data.matrix()
        picked.data[:] = 1.0
        picked.eliminate_zeros()
        counts = np.asarray(picked.sum(axis=0)).ravel()
        share = (counts + 1.0) / (counts.sum() + data.n_items)  # add-one: unseen items stay rankable
        self.log_popularity = np.log(share).astype(np.float32)
        self.history = picked.astype(np.float32)
        self._fit_groups(data, picked, share)
        self._fit_items(picked, share)
        self._fit_picks(data)

    def _fit_picks(self, data: Interactions) -> None:
        """When each user first picked each item, in time order: what was in the air at a time."""
        positive = np.flatnonzero(data.weights > 0)
        by_time = positive[np.argsort(data.timestamps[positive], kind="stable")]
        pairs = data.users[by_time] * np.int64(data.n_items) + data.items[by_time]
        _, first = np.unique(pairs, return_index=True)
        chosen = by_time[np.sort(first)]
        self.pick_times = data.timestamps[chosen].astype(np.float64)
        self.pick_items = data.items[chosen].astype(np.int32)

    def base_scores(self, context: RequestContext | None = None) -> np.ndarray:
        """log P(item) [n_items]; with the request's time, mixed with the log share of picks in
        the ``trend_days`` before it (nothing picked then: all-time popularity alone).

        A request after the newest training pick (online, every request) reads the last
        ``trend_days`` of training: time is measured from the newest pick, as the live
        ``trending`` source measures it from the newest event, so a replayed log has a "now"."""
        moment = context.time if context is not None else None
        if moment is None or not self.trend_weight or self.trend_days <= 0 or not len(self.pick_times):
            return self.log_popularity.astype(np.float64)
        moment = min(moment, float(self.pick_times[-1]))
        start = int(np.searchsorted(self.pick_times, moment - self.trend_days * DAY, side="right"))
        end = int(np.searchsorted(self.pick_times, moment, side="right"))
        cached = self._trend_cache
        if cached is not None and cached[0] == (start, end):
            return cached[1].copy()  # a copy: callers may change their scores in place
        base = self.log_popularity.astype(np.float64)
        counts = np.bincount(self.pick_items[start:end], minlength=len(base))
        recent = (counts + self.trend_smoothing * np.exp(base)) / (counts.sum() + self.trend_smoothing)
        mixed: np.ndarray = (1.0 - self.trend_weight) * base + self.trend_weight * np.log(recent)
        # online requests all fall after the newest pick and share one window: computed once
        self._trend_cache = ((start, end), mixed)
        return mixed.copy()

    def _fit_groups(self, data: Interactions, picked: sp.csr_matrix, share: np.ndarray) -> None:
        members = group_members(data, self.fields)
        self.groups = sorted(members)
        users = [user for group in self.groups for user in members[group]]
        columns = [row for row, group in enumerate(self.groups) for _ in members[group]]
        self.user_groups = sp.csr_matrix(
            (np.ones(len(users), dtype=np.float32), (users, columns)), shape=(data.n_users, len(self.groups))
        )
        lift = np.zeros((len(self.groups), data.n_items), dtype=np.float32)
        for row, group in enumerate(self.groups):
            lift[row] = smoothed_lift(picked[members[group]], share, self.smoothing)
        self.group_lift = lift

    def _fit_items(self, picked: sp.csr_matrix, share: np.ndarray) -> None:
        """lift(i | j) = log P(i | j) / P(i) with P(i | j) smoothed towards P(i); up to a constant
        per j (which never changes a ranking) that is log(1 + together(i, j) / (s * P(i))).

        The co-counts are built a block of items j at a time, each block cut to its strongest
        before the next: all of them at once took 6 GB at 100,000 items and 10M events."""
        by_item = picked.T.tocsr()
        n_items = picked.shape[1]
        width = max(1, PAIR_BLOCK // max(n_items, 1))
        blocks = []
        for start in range(0, n_items, width):
            together = (by_item[start : start + width] @ picked).astype(np.float64)
            together.setdiag(0.0, k=start)
            together.eliminate_zeros()
            together.sort_indices()  # ties at the cut fall the same way, whatever the blocks
            blocks.append(_strongest(together, self.neighbours))  # by count: the largest lifts are rare items
        together = blocks[0] if len(blocks) == 1 else sp.vstack(blocks, format="csr")
        together.data = np.log1p(together.data / (self.smoothing * share[together.indices]))
        self.item_lift = together.astype(np.float32).tocsr()

    def score_users(self, users: np.ndarray) -> np.ndarray:
        by_groups = np.asarray(self.user_groups[users] @ self.group_lift)
        history = self.history[users]
        per_item = self.history_weight / np.sqrt(np.maximum(history.getnnz(axis=1), 1))
        by_items = np.asarray((history @ self.item_lift).todense()) * per_item[:, None]
        scores: np.ndarray = self.log_popularity + self.profile_weight * by_groups + by_items
        return scores

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return self.score_profile(items, weights, None)

    def score_profile(
        self,
        items: np.ndarray,
        weights: np.ndarray,
        profile: UserProfile | None,
        context: RequestContext | None = None,
    ) -> np.ndarray:
        """Scores [n_items] for a user known by a profile and a (possibly empty) history,
        asking at ``context.time`` when known."""
        scores = self.base_scores(context)
        rows = self.known_groups(profile)
        if rows and self.profile_weight:
            scores = scores + self.profile_weight * self.group_lift[rows].sum(axis=0)
        liked = np.unique(items[weights > 0])
        if len(liked) and self.history_weight:
            lift = np.asarray(self.item_lift[liked].sum(axis=0)).ravel()
            scores = scores + self.history_weight / np.sqrt(len(liked)) * lift
        return scores

    def score_new_users(
        self,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        contexts: Sequence[RequestContext | None] | None = None,
    ) -> np.ndarray:
        contexts = contexts if contexts is not None else [None] * len(histories)
        return np.vstack(
            [
                self.score_profile(history, np.ones(len(history), dtype=np.float32), profile, context)
                for history, profile, context in zip(histories, profiles, contexts, strict=True)
            ]
        )

    def score_new_users_at(
        self,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        items: np.ndarray,
    ) -> np.ndarray:
        """:meth:`score_profile` of ``items`` only (all-time popularity, as without a context)."""
        found = np.tile(self.log_popularity[items].astype(np.float64), (len(histories), 1))
        by_profile: dict[int, np.ndarray | None] = {}  # an explanation asks with one profile
        for row, (history, profile) in enumerate(zip(histories, profiles, strict=True)):
            if id(profile) not in by_profile:
                groups = np.asarray(self.known_groups(profile), dtype=np.int64)
                lift = self.group_lift[groups[:, None], items].sum(axis=0) if len(groups) else None
                by_profile[id(profile)] = lift
            lift = by_profile[id(profile)]
            if lift is not None and self.profile_weight:
                found[row] += self.profile_weight * lift
            liked = np.unique(history)
            if len(liked) and self.history_weight:
                lift = rows_weighted_sum_at(self.item_lift, liked, np.ones(len(liked)), items)
                found[row] += self.history_weight / np.sqrt(len(liked)) * lift
        return found

    def profile_groups(self, profile: UserProfile | None) -> tuple[str, ...]:
        """The groups of ``profile`` this model learned a lift for, e.g. ("gender=f", "age=20s")."""
        return tuple(self.groups[row] for row in self.known_groups(profile))

    def known_groups(self, profile: UserProfile | None) -> list[int]:
        """Rows of ``group_lift`` for the groups of ``profile`` seen in training."""
        found = (self._group_row(group) for group in profile_groups(profile, self.fields))
        return [row for row in found if row is not None]

    def _group_row(self, group: str) -> int | None:
        position = int(np.searchsorted(self.groups, group))
        return position if position < len(self.groups) and self.groups[position] == group else None

    def _keep_users(self, keep: np.ndarray) -> None:
        self.user_groups = self.user_groups.tocsr()[keep]
        self.history = self.history.tocsr()[keep]

    def _blank_items(self, indices: np.ndarray) -> None:
        self.item_lift = blank_lines(self.item_lift, indices)
        kept = ~np.isin(self.pick_items, indices)
        self.pick_times, self.pick_items = self.pick_times[kept], self.pick_items[kept]
        self._trend_cache = None

    def _user_record(self, index: int) -> dict[str, Any]:
        groups, history = self.user_groups.tocsr(), self.history.tocsr()
        in_groups = groups.indices[groups.indptr[index] : groups.indptr[index + 1]]
        picked = history.indices[history.indptr[index] : history.indptr[index + 1]]
        return {"groups": [self.groups[group] for group in in_groups], "history": self.item_id_list(picked)}

    def _arrays(self) -> dict[str, np.ndarray]:
        lift, groups, history = self.item_lift.tocsr(), self.user_groups.tocsr(), self.history.tocsr()
        return {
            "log_popularity": self.log_popularity,
            "groups": np.array(self.groups, dtype=np.str_),
            "group_lift": self.group_lift,
            "user_group_indices": groups.indices,
            "user_group_indptr": groups.indptr,
            "history_indices": history.indices,
            "history_indptr": history.indptr,
            "lift_data": lift.data,
            "lift_indices": lift.indices,
            "lift_indptr": lift.indptr,
            "lift_shape": np.array(lift.shape),
            "pick_times": self.pick_times,
            "pick_items": self.pick_items,
        }

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self._trend_cache = None
        self.log_popularity = arrays["log_popularity"]
        self.groups = [str(group) for group in arrays["groups"]]
        self.group_lift = arrays["group_lift"]
        n_items = len(self.log_popularity)
        self.user_groups = _ones(arrays["user_group_indices"], arrays["user_group_indptr"], len(self.groups))
        self.history = _ones(arrays["history_indices"], arrays["history_indptr"], n_items)
        self.item_lift = sp.csr_matrix(
            (arrays["lift_data"], arrays["lift_indices"], arrays["lift_indptr"]),
            shape=tuple(arrays["lift_shape"]),
        )
        # versions saved before the trend existed have no picks: they score by all-time popularity
        self.pick_times = arrays.get("pick_times", np.zeros(0, dtype=np.float64))
        self.pick_items = arrays.get("pick_items", np.zeros(0, dtype=np.int32))


def _ones(indices: np.ndarray, indptr: np.ndarray, n_columns: int) -> sp.csr_matrix:
    """A 0/1 CSR matrix from its saved structure."""
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, n_columns))


def _strongest(matrix: sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """Each row's ``keep`` largest entries (all of them when ``keep`` <= 0)."""
    if keep <= 0:
        return matrix
    rows, columns, values = [], [], []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        data = matrix.data[start:end]
        chosen = np.argpartition(-data, keep - 1)[:keep] if len(data) > keep else np.arange(len(data))
        rows.append(np.full(len(chosen), row))
        columns.append(matrix.indices[start:end][chosen])
        values.append(data[chosen])
    if not rows:
        return matrix
    return sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))), shape=matrix.shape
    )
