"""Which search index over a set of item vectors finds their best items, measured.

An HNSW graph of the vectors as they are, one of them lifted (``IndexConfig.lifted``) and an
inverted file of them lifted find different shares of a model's best items: at 100,000 items
(10M events), users' best 100 by ALS were found 88 % by the first (ef 128), 12 % by the second
and all by the third (128 of 1,024 lists probed); the Transformer's best 256 (1M events) 16 %,
56 % and all (docs/scaling.md, "A model's search index"). So each is built, searched for the vectors of
sampled users, the one that finds most is kept, and its search widened until it finds the
share wanted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from homefeed.vectors.index import IndexConfig, VectorIndex

RECALL_AT = 100  # each user's best items by inner product the index should find
WANTED_RECALL = 0.9  # the search widens until it finds this share, up to MAX_WIDENING times
MAX_WIDENING = 8
KINDS = {  # the indexes tried, by name: (IndexConfig.structure, IndexConfig.lifted); the first wins a tie
    "plain": ("hnsw", False),
    "lifted": ("hnsw", True),
    "lifted-ivf": ("ivf", True),
}


@dataclass(frozen=True)
class ChosenIndex:
    index: VectorIndex
    recall: dict[str, float] = field(default_factory=dict)  # by kind (KINDS) at its usual width
    widened: dict[int, float] = field(default_factory=dict)  # the chosen one's recall by width

    @property
    def found(self) -> float:
        """The share of the best items the chosen index finds at its final width (1: exact)."""
        return self.widened[self.index.config.width] if self.widened else 1.0

    @property
    def name(self) -> str:
        """The chosen index's name in KINDS ("exact" for a flat index)."""
        config = self.index.config
        if self.index.kind == "exact":
            return "exact"
        return next(name for name, kind in KINDS.items() if kind == (config.structure, config.lifted))


def better_index(
    item_ids: list[str],
    vectors: np.ndarray,
    queries: np.ndarray | None,
    config: IndexConfig,
    k: int = RECALL_AT,
    wanted: float = WANTED_RECALL,
) -> ChosenIndex:
    """Of the indexes in KINDS over ``vectors``, the one that finds most of each of
    ``queries``' best ``k`` items, searched wider until it finds ``wanted`` of them; when it
    does not, the next best is widened in turn, and the one that found most is kept. The plain
    graph without queries, and an exact index below ``hnsw_above`` items."""
    plain = VectorIndex.build(item_ids, vectors, _of_kind(config, "plain"))
    if plain.kind == "exact" or queries is None:
        return ChosenIndex(plain)
    best = best_items(vectors, queries, k)  # once: every index and width is read against it
    others = (name for name in KINDS if name != "plain")
    built = {"plain": plain} | {
        name: VectorIndex.build(item_ids, vectors, _of_kind(config, name)) for name in others
    }
    recall = {name: recall_at(index, queries, best) for name, index in built.items()}
    chosen: tuple[str, dict[int, float]] | None = None
    for name in sorted(recall, key=lambda name: -recall[name]):  # the best first; the first of equals
        tried = widened(built[name], queries, best, recall[name], wanted)
        if chosen is None or max(tried.values()) > max(chosen[1].values()):
            chosen = (name, tried)
        if max(tried.values()) >= wanted:  # found enough: the others are not widened
            break
    assert chosen is not None
    return ChosenIndex(built[chosen[0]], recall, chosen[1])


def _of_kind(config: IndexConfig, name: str) -> IndexConfig:
    structure, lifted = KINDS[name]
    return replace(config, structure=structure, lifted=lifted)


def widened(
    index: VectorIndex, queries: np.ndarray, best: np.ndarray, found: float, wanted: float = WANTED_RECALL
) -> dict[int, float]:
    """Widen ``index``'s search (``IndexConfig.widened``) while it finds under ``wanted`` of
    the queries' ``best`` items (``found`` at its own width), up to ``MAX_WIDENING`` times;
    the index keeps the last width. Each doubling costs pages about twice the search time."""
    base = index.config.width
    tried = {base: found}
    while found < wanted and index.config.width < MAX_WIDENING * base:
        index.config = index.config.widened()
        found = recall_at(index, queries, best)
        tried[index.config.width] = found
    return tried


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
