"""A model's search graph over its item vectors, chosen on measured recall.

An HNSW graph of the vectors as they are and one of them lifted (``IndexConfig.lifted``) find
different shares of a model's best items: at 100,000 items and ef 128, users' best 100 by ALS
were found 86 % by the first and 31 % by the second, by the Transformer 21 % and 58 %
(docs/scaling.md, "A model's search graph"). So training builds both, searches each for the
vectors of users drawn from the training events, keeps the one that finds more, and widens
its search until it finds ``WANTED_RECALL``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from homefeed.models import Interactions
from homefeed.models.base import Recommender
from homefeed.vectors import IndexConfig, VectorIndex

RECALL_USERS = 64  # users whose vectors each graph is searched for
RECALL_AT = 100  # each user's best items by inner product the graph should find
WANTED_RECALL = 0.9  # the search widens (ef) until it finds this share, up to MAX_WIDENING times
MAX_WIDENING = 8


@dataclass(frozen=True)
class ChosenIndex:
    index: VectorIndex
    recall: dict[str, float] = field(default_factory=dict)  # by graph: "plain", "lifted"
    widened: dict[int, float] = field(default_factory=dict)  # the chosen graph's recall by ef_search

    @property
    def graph(self) -> str:
        return "lifted" if self.index.config.lifted else "plain"


def chosen_index(
    model: Recommender, vectors: np.ndarray, data: Interactions, config: IndexConfig
) -> ChosenIndex:
    """The graph over ``vectors`` (the model's item vectors) that finds more of the best items
    of users drawn from ``data`` (:func:`better_graph`)."""
    return better_graph(model.item_ids, vectors, user_vectors(model, data), config)


def better_graph(
    item_ids: list[str], vectors: np.ndarray, queries: np.ndarray | None, config: IndexConfig
) -> ChosenIndex:
    """Of the plain and the lifted graph over ``vectors``, the one that finds more of each of
    ``queries``' best ``RECALL_AT`` items, searched wider until it finds ``WANTED_RECALL``;
    the plain one on a tie, without queries, and below ``hnsw_above`` items (exact search)."""
    plain = VectorIndex.build(item_ids, vectors, replace(config, lifted=False))
    if plain.kind != "hnsw" or queries is None:
        return ChosenIndex(plain)
    lifted = VectorIndex.build(item_ids, vectors, replace(config, lifted=True))
    best = best_items(vectors, queries)  # once: every graph and width is read against it
    recall = {"plain": recall_at(plain, queries, best), "lifted": recall_at(lifted, queries, best)}
    chosen = lifted if recall["lifted"] > recall["plain"] else plain
    return ChosenIndex(chosen, recall, widened(chosen, queries, best, max(recall.values())))


def widened(index: VectorIndex, queries: np.ndarray, best: np.ndarray, found: float) -> dict[int, float]:
    """Widen ``index``'s search (``ef_search`` doubled) while it finds under ``WANTED_RECALL``
    of the queries' ``best`` items (``found`` at its own width), up to ``MAX_WIDENING`` times;
    the index keeps the last width. Each doubling costs pages about twice the search time."""
    base = index.config.ef_search
    tried = {base: found}
    while found < WANTED_RECALL and index.config.ef_search < MAX_WIDENING * base:
        index.config = replace(index.config, ef_search=2 * index.config.ef_search)
        found = recall_at(index, queries, best)
        tried[index.config.ef_search] = found
    return tried


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


def best_items(vectors: np.ndarray, queries: np.ndarray, k: int = RECALL_AT) -> np.ndarray:
    """Each query's best ``k`` items by inner product [len(queries), k], in no order."""
    k = min(k, len(vectors))
    return np.argpartition(-(queries @ vectors.T), k - 1, axis=1)[:, :k]


def recall_at(index: VectorIndex, queries: np.ndarray, best: np.ndarray) -> float:
    """The share of each query's ``best`` items (:func:`best_items`) that ``index`` finds in as
    many; slots are item indices (an index built once, nothing removed)."""
    k = int(best.shape[1])
    everything = np.ones(len(index), dtype=bool)
    found = 0
    for query, wanted in zip(queries, best, strict=True):
        slots, _ = index.search_slots(query, k, everything)
        found += len(np.intersect1d(slots, wanted))
    return found / (k * len(queries))
