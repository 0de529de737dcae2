"""The validation every judgement of a version shares: a user's held-out items asked for from
their history, as the page asks, scored by the same measure.

``homefeed train --tune`` and the quality gate (on a log without order) hold out one liked item
per user (:func:`validation_split`: the latest when the log orders events in time, else one
drawn at random: a log of play counts or a bulk export has no order to trust, and a "latest"
item would be an accident of file order); the gate on an ordered log holds out the newest
events instead. :func:`measure` scores any model on such cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from homefeed.accuracy import ranking_metrics
from homefeed.domain import UserProfile
from homefeed.models.base import Recommender, UserQuery, top_k
from homefeed.models.data import Interactions

REPORTED = ("hr", "recall", "ndcg", "mrr")


@dataclass
class ValidationCase:
    """A test user: what the model may read (their history) and what it should rank high."""

    user_id: str
    history: list[str]  # item ids known before what is held out, oldest first
    weights: list[float]  # each history item's event strength
    relevant: set[str]


@dataclass
class ValidationSplit:
    """Training rows, and per test user their history and the held-out item."""

    training: Interactions
    cases: list[ValidationCase]
    how: str


def has_order(data: Interactions) -> bool:
    """Whether the log orders each user's events in time: most of a user's consecutive events
    lie at different moments (a bulk export stamps them all alike)."""
    order = np.lexsort((data.timestamps, data.users))
    same_user = data.users[order][1:] == data.users[order][:-1]
    if not same_user.any():
        return False
    tied = (np.diff(data.timestamps[order]) == 0)[same_user]
    return bool(tied.mean() < 0.5)


def validation_split(data: Interactions, max_users: int, seed: int = 0) -> ValidationSplit:
    """Each user's latest liked item held out (one at random when the log has no order), for
    users with at least two other liked items; at most ``max_users`` of them, a fixed sample."""
    rng = np.random.default_rng(seed)
    ordered = has_order(data)
    rows = data.user_rows()
    users = [user for user, found in enumerate(rows) if len(np.unique(data.items[found])) >= 3]
    if len(users) > max_users:
        users = sorted(rng.choice(users, size=max_users, replace=False).tolist())
    held = np.array(
        [row[-1] if ordered else rng.choice(row) for row in (rows[u] for u in users)], dtype=np.int64
    )
    keep = np.ones(len(data.users), dtype=bool)
    keep[held] = False
    training = data.subset(keep)
    cases = []
    for user, row in zip(users, held.tolist(), strict=True):
        user_rows = [r for r in rows[user].tolist() if r != row]
        item = data.item_ids[int(data.items[row])]
        history = [data.item_ids[int(data.items[r])] for r in user_rows]
        weights = [float(data.weights[r]) for r in user_rows]
        if item not in history:
            cases.append(ValidationCase(data.user_ids[user], history, weights, {item}))
    how = (
        "latest liked item per user" if ordered else "one liked item at random per user (no order in the log)"
    )
    return ValidationSplit(training, cases, how)


def measure(
    model: Recommender, cases: list[ValidationCase], profiles: Mapping[str, UserProfile], k: int
) -> dict[str, np.ndarray]:
    """Per-user ranking metrics of ``model`` over ``cases``, each user scored from their history
    (items the model does not know are left out of it, and it cannot rank them)."""
    ranked, relevant = rank_cases(model, cases, profiles, k)
    values = ranking_metrics(ranked, relevant, k)
    return {name: values[name] for name in REPORTED}


def rank_cases(
    model: Recommender, cases: list[ValidationCase], profiles: Mapping[str, UserProfile], k: int
) -> tuple[np.ndarray, list[set[int]]]:
    """Each case's top ``k`` unseen items by ``model`` (its item indices) and the relevant ones
    (an item the model does not know gets a negative index: never ranked, still counted)."""
    ranked = np.full((len(cases), k), -1, dtype=np.int64)
    relevant: list[set[int]] = []
    for row, case in enumerate(cases):
        pairs = [
            (index, weight)
            for item, weight in zip(case.history, case.weights, strict=True)
            if (index := model.item_index(item)) is not None
        ]
        items = np.array([index for index, _ in pairs], dtype=np.int64)
        weights = np.array([weight for _, weight in pairs], dtype=np.float32)
        query = UserQuery(items, weights, profiles.get(case.user_id))
        scores = np.array(model.score_user(query), dtype=np.float64)
        scores[items] = -np.inf
        ranked[row] = top_k(scores[None, :], k)[0][0]
        unknown = iter(range(-2, -2 - len(case.relevant), -1))  # never ranked, still counted
        indices = (model.item_index(item) for item in case.relevant)
        relevant.append({index if index is not None else next(unknown) for index in indices})
    return ranked, relevant
