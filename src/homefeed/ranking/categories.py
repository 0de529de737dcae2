"""Category features of the ranker: how much of the user's recent history shares the item's
categories, and how much the user's profile groups favour them (profile x category).

An item's categories are its ``category`` and its ``tags`` (MovieLens genres), each row
summing to one. Both features come from what the ranker saved at training, so serving and
offline evaluation compute them the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from homefeed.domain import UserProfile
from homefeed.models.data import Interactions
from homefeed.models.profile import group_members, profile_groups, smoothed_lift
from homefeed.models.sparse_rows import rows_dot, rows_weighted_sum

GROUP_FIELDS = ("gender", "age", "occupation")
SMOOTHING = 50.0  # pseudo-picks of the overall category mix added to every group's picks


@dataclass
class CategoryStats:
    """Item categories and each profile group's category lift, learned at training."""

    items: sp.csr_matrix  # [n_items, n_categories], each item's row sums to 1 (or is empty)
    groups: list[str]  # profile groups seen in training, e.g. "gender=f"
    lift: np.ndarray  # [n_groups, n_categories]: log P(category | group) / P(category), smoothed

    def __post_init__(self) -> None:
        self._rows = {group: row for row, group in enumerate(self.groups)}

    @classmethod
    def empty(cls, n_items: int = 0) -> CategoryStats:
        return cls(sp.csr_matrix((n_items, 1), dtype=np.float32), [], np.zeros((0, 1), dtype=np.float32))

    @classmethod
    def from_data(cls, data: Interactions) -> CategoryStats:
        """Categories from ``data.item_fields``; group lifts from the picks of users whose
        profile ``data.profiles`` knows (no fields or no profiles: empty, features stay 0)."""
        if data.item_fields is None:
            return cls.empty(data.n_items)
        names: dict[str, int] = {}
        rows: list[int] = []
        columns: list[int] = []
        for item, fields in enumerate(data.item_fields):
            labels = {label.strip().lower() for label in [fields.category or "", *fields.tags]} - {""}
            for label in sorted(labels):
                rows.append(item)
                columns.append(names.setdefault(label, len(names)))
        if not names:
            return cls.empty(data.n_items)
        items = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=(data.n_items, len(names))
        )
        sizes = np.asarray(items.sum(axis=1)).ravel()
        items = sp.diags(1.0 / np.maximum(sizes, 1.0)).astype(np.float32) @ items
        groups, lift = _group_lift(data, items.tocsr())
        return cls(items.tocsr(), groups, lift)

    def affinity(self, recent: np.ndarray, weights: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Share of the ``recent`` liked history (weighted by ``weights``, e.g. recency) in
        each candidate's categories."""
        if len(recent) == 0 or self.items.shape[0] == 0:
            return np.zeros(len(candidates))
        mix = rows_weighted_sum(self.items, recent, weights) / weights.sum()
        return rows_dot(self.items, candidates, mix)

    def profile_lift(self, profile: UserProfile | None, candidates: np.ndarray) -> np.ndarray:
        """How much the user's profile groups favour each candidate's categories (mean lift
        over the groups; 0 without a profile or for groups not seen in training)."""
        rows = [self._rows[g] for g in profile_groups(profile, GROUP_FIELDS) if g in self._rows]
        if not rows or self.items.shape[0] == 0:
            return np.zeros(len(candidates))
        return rows_dot(self.items, candidates, self.lift[rows].mean(axis=0))


def _group_lift(data: Interactions, items: sp.csr_matrix) -> tuple[list[str], np.ndarray]:
    """Each profile group's smoothed category lift over the positive picks."""
    positive = data.weights > 0
    picks = sp.csr_matrix(
        (np.ones(int(positive.sum()), dtype=np.float32), (data.users[positive], data.items[positive])),
        shape=(data.n_users, data.n_items),
    )
    per_user = (picks @ items).tocsr()  # [users, categories] picks
    overall = np.asarray(per_user.sum(axis=0)).ravel().astype(np.float64)
    share = (overall + 1.0) / (overall.sum() + len(overall))
    members = group_members(data, GROUP_FIELDS)
    groups = sorted(members)
    lift = np.zeros((len(groups), len(share)), dtype=np.float32)
    for row, group in enumerate(groups):
        lift[row] = smoothed_lift(per_user[members[group]], share, SMOOTHING)
    return groups, lift


def profiles_of(data: Interactions, users: Sequence[int]) -> list[UserProfile | None]:
    """The stored profile of each user index (None where unknown)."""
    return [data.profiles.get(data.user_ids[user]) for user in users]
