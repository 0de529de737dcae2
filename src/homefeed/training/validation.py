"""The validation every judgement of a version shares: a user's held-out items asked for from
their history, as the page asks, scored by the same measure.

``homefeed train --tune`` and the quality gate (on a log without order) hold out a user's
latest liked items (:func:`validation_split`; drawn at random when the log has no order: a log
of play counts or a bulk export has no order to trust, and "latest" would be an accident of
file order); the gate on an ordered log holds out the newest events instead. Three items per
user rather than one: a user's NDCG@10 for one item is zero for most users, so one held-out
item left choices between near-tied models to chance. :func:`measure` scores any model on
such cases.
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
HELD_OUT = 3  # items held out per user: three times the evidence of one, from the same users


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


def validation_split(
    data: Interactions, max_users: int, seed: int = 0, per_user: int = HELD_OUT
) -> ValidationSplit:
    """Each user's latest ``per_user`` liked items held out (drawn at random when the log has no
    order), fewer where that would leave under two: every user with three liked items is a
    case; at most ``max_users`` of them, a fixed sample. An item is held out with all the
    user's rows of it, so the model cannot have seen the user take it."""
    rng = np.random.default_rng(seed)
    ordered = has_order(data)
    rows = data.user_rows()
    users = [user for user, found in enumerate(rows) if len(np.unique(data.items[found])) >= 3]
    if len(users) > max_users:
        users = sorted(rng.choice(users, size=max_users, replace=False).tolist())
    keep = np.ones(len(data.users), dtype=bool)
    cases = []
    for user in users:
        row = rows[user]
        items = data.items[row]
        distinct = list(dict.fromkeys(items.tolist()))  # in order of first taking
        count = min(per_user, len(distinct) - 2)
        held = distinct[-count:] if ordered else rng.choice(distinct, size=count, replace=False).tolist()
        out = np.isin(items, held)
        keep[row[out]] = False
        history = [data.item_ids[int(i)] for i in items[~out]]
        weights = [float(w) for w in data.weights[row[~out]]]
        cases.append(ValidationCase(data.user_ids[user], history, weights, {data.item_ids[i] for i in held}))
    items_said = "item" if per_user == 1 else f"{per_user} items"
    how = (
        f"latest {items_said} liked per user"
        if ordered
        else f"{items_said} liked per user, drawn at random (no order in the log)"
    )
    return ValidationSplit(data.subset(keep), cases, how)


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
