"""A model's search index over its item vectors, chosen on measured recall
(:mod:`homefeed.vectors.choice`) for the vectors of users drawn from the training events."""

from __future__ import annotations

import numpy as np

from homefeed.models import Interactions
from homefeed.models.base import Recommender
from homefeed.vectors import IndexConfig
from homefeed.vectors.choice import ChosenIndex, better_index

RECALL_USERS = 64  # users whose vectors each index is searched for


def chosen_index(
    model: Recommender, vectors: np.ndarray, data: Interactions, config: IndexConfig
) -> ChosenIndex:
    """The index over ``vectors`` (the model's item vectors) that finds most of the best items
    of users drawn from ``data`` (:func:`better_index`)."""
    return better_index(model.item_ids, vectors, user_vectors(model, data), config)


def user_vectors(model: Recommender, data: Interactions, count: int = RECALL_USERS) -> np.ndarray | None:
    """The vectors (``Recommender.user_vector``) of up to ``count`` users drawn from ``data``,
    each from their events in time order; None when none has a vector."""
    rng = np.random.default_rng(0)
    users = rng.choice(data.n_users, size=min(count, data.n_users), replace=False)
    rows = np.flatnonzero(np.isin(data.users, users))
    rows = rows[np.lexsort((data.timestamps[rows], data.users[rows]))]
    found = []
    for user in users.tolist():
        mine = rows[data.users[rows] == user]
        vector = model.user_vector(data.items[mine], data.weights[mine])
        if vector is not None and np.any(vector):
            found.append(np.asarray(vector, dtype=np.float32))
    return np.vstack(found) if found else None
