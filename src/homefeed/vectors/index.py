"""A FAISS inner-product index over item vectors, keyed by item id, updatable in place.

Small catalogs get an exact flat index; above ``hnsw_above`` vectors an approximate one
(``structure``): an HNSW graph, or an inverted file (IVF: the vectors split into k-means lists,
a search scanning the ``ivf_probes`` lists nearest the query). Either holds the vectors as they
are or (``lifted``) each with one more coordinate, ``sqrt(M² - |x|²)`` for the largest norm
``M``, where the nearest by Euclidean distance are the best by inner product (Bachrach et al.,
RecSys 2014). Which finds more of a model's best items depends on its vectors: training
measures them (``training/indexing.py``). Items
can be added, replaced and removed at any time (an item PUT through the API is findable at
the next request): removal marks the slot dead and an ID selector hides it from searches;
the index is rebuilt without dead slots once they are a quarter of it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np

from homefeed.vectors.exclusion import Exclusion

# faiss's bundled stubs miss the search-parameter and selector classes: use it untyped
faiss: Any = _faiss


SHARED_PART = 1_000  # an exclusion's frozenset this large is mapped to slots once (see _kept)
SHARED_KEPT = 64  # and the last this-many such sets are remembered
IVF_LIST_SIZE = 64  # an inverted file has at most one list per this many vectors
STRUCTURES = ("hnsw", "ivf")  # IndexConfig.structure: an HNSW graph or an inverted file


@dataclass(frozen=True)
class IndexConfig:
    hnsw_above: int = 50_000  # exact search up to this many vectors, ``structure`` above
    hnsw_neighbours: int = 32  # HNSW M: graph degree
    ef_construction: int = 80
    ef_search: int = 128  # HNSW beam width at query time: recall against speed
    compact_when_dead: float = 0.25
    lifted: bool = False  # the index holds lifted vectors (see the module's docstring)
    structure: str = "hnsw"  # above hnsw_above: "hnsw" (a graph) or "ivf" (an inverted file)
    ivf_lists: int = 1024  # IVF: k-means lists, at most one per IVF_LIST_SIZE vectors
    ivf_probes: int = 128  # IVF: lists scanned per search: recall against speed

    def __post_init__(self) -> None:
        if self.structure not in STRUCTURES:
            raise ValueError(f"structure: expected one of {STRUCTURES}, got {self.structure!r}")

    @property
    def width(self) -> int:
        """How widely an approximate search looks: the graph's beam or the lists probed."""
        return self.ivf_probes if self.structure == "ivf" else self.ef_search

    def widened(self) -> IndexConfig:
        """This config searching twice as widely."""
        if self.structure == "ivf":
            return replace(self, ivf_probes=2 * self.ivf_probes)
        return replace(self, ef_search=2 * self.ef_search)


@dataclass(frozen=True)
class Hit:
    item_id: str
    score: float


class VectorIndex:
    """Nearest items by inner product; unit vectors make that cosine similarity."""

    def __init__(self, dimension: int, config: IndexConfig | None = None) -> None:
        self.dimension = dimension
        self.config = config or IndexConfig()
        self._ids: list[str] = []  # slot -> item id (dead slots keep their old id)
        self._slots: dict[str, int] = {}  # live item id -> slot
        self._live = np.zeros(0, dtype=bool)
        self._vectors = np.zeros((0, dimension), dtype=np.float32)  # kept for rebuilds
        self._index: Any = self._new_index(0)
        self._lift: float | None = None  # a lifted graph's M (None: it holds the vectors as they are)
        self.revision = 0  # bumped by every write, for callers that cache derived views
        self._excluded: tuple[Collection[str], int, np.ndarray] | None = None  # see _kept
        self._shared_slots: list[tuple[Collection[str], int, np.ndarray]] = []  # see _slots_of
        self._snapshot: tuple[int, list[str], np.ndarray] | None = None
        self._lock = threading.RLock()  # FAISS indexes are not safe to search while being written

    # -- building ---------------------------------------------------------
    @classmethod
    def build(
        cls, item_ids: Sequence[str], vectors: np.ndarray, config: IndexConfig | None = None
    ) -> VectorIndex:
        index = cls(int(np.asarray(vectors).shape[1]), config)
        index.add(item_ids, vectors)
        return index

    @property
    def kind(self) -> str:
        """ "exact", "hnsw" or "ivf"."""
        if isinstance(self._index, faiss.IndexHNSWFlat):
            return "hnsw"
        return "ivf" if isinstance(self._index, faiss.IndexIVFFlat) else "exact"

    def _new_index(self, size: int) -> Any:
        config = self.config
        if size <= config.hnsw_above:
            return faiss.IndexFlatIP(self.dimension)
        dimension = self.dimension + config.lifted  # lifted: one more coordinate, searched by distance
        metric = faiss.METRIC_L2 if config.lifted else faiss.METRIC_INNER_PRODUCT
        if config.structure == "ivf":
            quantizer = faiss.IndexFlatL2(dimension) if config.lifted else faiss.IndexFlatIP(dimension)
            lists = max(1, min(config.ivf_lists, size // IVF_LIST_SIZE))
            return faiss.IndexIVFFlat(quantizer, dimension, lists, metric)  # keeps its quantizer
        graph = faiss.IndexHNSWFlat(dimension, config.hnsw_neighbours, metric)
        graph.hnsw.efConstruction = config.ef_construction
        graph.hnsw.efSearch = config.ef_search
        return graph

    def add(self, item_ids: Sequence[str], vectors: np.ndarray) -> None:
        """Insert items, replacing the vector of any id already present."""
        with self._lock:
            self._add(item_ids, vectors)

    def _add(self, item_ids: Sequence[str], vectors: np.ndarray) -> None:
        self.revision += 1
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
        if len(item_ids) != len(vectors):
            raise ValueError(f"{len(item_ids)} ids but {len(vectors)} vectors")
        if len(set(item_ids)) != len(item_ids):
            raise ValueError("duplicate item ids in one add()")
        self._kill([item for item in item_ids if item in self._slots])
        start = len(self._ids)
        self._ids.extend(item_ids)
        self._slots.update({item: start + offset for offset, item in enumerate(item_ids)})
        self._live = np.concatenate([self._live, np.ones(len(item_ids), dtype=bool)])
        self._vectors = np.vstack([self._vectors, vectors])
        if self.kind == "exact" and len(self._ids) > self.config.hnsw_above:
            self._rebuild()  # outgrew exact search
        elif self._lift is not None and float(np.linalg.norm(vectors, axis=1).max(initial=0.0)) > self._lift:
            self._rebuild()  # longer than a lifted graph's M: lifted again
        else:
            self._index.add(self._stored(vectors))
        self._maybe_compact()

    def remove(self, item_ids: Iterable[str]) -> None:
        """Hide items from every later search (unknown ids are ignored)."""
        with self._lock:
            self.revision += 1
            self._kill([item for item in item_ids if item in self._slots])
            self._maybe_compact()

    def purge(self, item_ids: Iterable[str]) -> None:
        """Remove items for good: their ids and vectors leave the index and what it saves
        (:meth:`remove` only hides them until the next compaction)."""
        with self._lock:
            self.revision += 1
            self._kill([item for item in item_ids if item in self._slots])
            self._rebuild()

    def _kill(self, item_ids: Sequence[str]) -> None:
        for item in item_ids:
            self._live[self._slots.pop(item)] = False

    def _maybe_compact(self) -> None:
        dead = len(self._ids) - len(self._slots)
        if dead and dead >= self.config.compact_when_dead * len(self._ids):
            self._rebuild()

    def _rebuild(self) -> None:
        keep = np.flatnonzero(self._live)
        self._ids = [self._ids[slot] for slot in keep]
        self._slots = {item: slot for slot, item in enumerate(self._ids)}
        self._vectors = np.ascontiguousarray(self._vectors[keep])
        self._live = np.ones(len(self._ids), dtype=bool)
        self._index = self._new_index(len(self._ids))
        self._lift = None
        if self.kind != "exact" and self.config.lifted:
            self._lift = float(np.linalg.norm(self._vectors, axis=1).max())
        if len(self._ids):
            stored = self._stored(self._vectors)
            if not self._index.is_trained:  # an inverted file's lists: k-means over the vectors
                self._index.train(stored)
            self._index.add(stored)

    def _stored(self, vectors: np.ndarray) -> np.ndarray:
        """The vectors as the index holds them: lifted for a lifted graph."""
        if self._lift is None:
            return vectors
        lift = np.sqrt(np.maximum(self._lift**2 - np.einsum("ij,ij->i", vectors, vectors), 0.0))
        return np.ascontiguousarray(np.hstack([vectors, lift[:, None].astype(np.float32)]))

    # -- reading ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._slots

    def item_ids(self) -> list[str]:
        return [self._ids[slot] for slot in np.flatnonzero(self._live)]

    def snapshot(self) -> tuple[list[str], np.ndarray]:
        """Live ids and their vectors [len, dimension], recomputed only after a write."""
        with self._lock:
            if self._snapshot is None or self._snapshot[0] != self.revision:
                live = np.flatnonzero(self._live)
                self._snapshot = (self.revision, [self._ids[s] for s in live], self._vectors[live])
            return self._snapshot[1], self._snapshot[2]

    def vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        """Vectors [len(item_ids), dimension] in the given order; zeros for unknown ids."""
        out = np.zeros((len(item_ids), self.dimension), dtype=np.float32)
        with self._lock:
            found = self._slots.get
            slots = np.fromiter((found(item, -1) for item in item_ids), dtype=np.int64, count=len(item_ids))
            known = slots >= 0
            if known.any():
                out[known] = self._vectors[slots[known]]
        return out

    def vector(self, item_id: str) -> np.ndarray | None:
        slot = self._slots.get(item_id)
        return None if slot is None else self._vectors[slot].copy()

    def search(self, queries: np.ndarray, k: int, exclude: Collection[str] = ()) -> list[list[Hit]]:
        """The ``k`` best live items for each query row, best first, skipping ``exclude``."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        with self._lock:
            return self._search_locked(queries, k, exclude)

    def _search_locked(self, queries: np.ndarray, k: int, exclude: Collection[str]) -> list[list[Hit]]:
        keep = self._kept(exclude)
        k = min(k, int(keep.sum()) if exclude else len(self._slots))
        if k <= 0 or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        scores, slots = self._search(queries, k, keep)
        return [
            [Hit(self._ids[slot], float(score)) for slot, score in zip(row, values, strict=True) if slot >= 0]
            for row, values in zip(slots, scores, strict=True)
        ]

    def _kept(self, exclude: Collection[str]) -> np.ndarray:
        """The live slots less ``exclude``'s. A page searches several times with one exclusion,
        so the last one's mask is kept, by identity and revision; a large frozenset part of an
        :class:`Exclusion` (a stated dislike's items, shared by every page of that text) is
        mapped to slots once per revision, not on every page."""
        if not exclude:
            return self._live
        last = self._excluded
        if last is not None and last[0] is exclude and last[1] == self.revision:
            return last[2]
        keep = self._live.copy()
        for part in exclude.parts if isinstance(exclude, Exclusion) else (exclude,):
            keep[self._slots_of(part)] = False
        self._excluded = (exclude, self.revision, keep)
        return keep

    def _slots_of(self, items: Collection[str]) -> np.ndarray:
        """The live slots of ``items``; remembered for the last few large frozensets."""
        shared = isinstance(items, frozenset) and len(items) >= SHARED_PART
        if shared:
            for held, revision, slots in self._shared_slots:
                if held is items and revision == self.revision:
                    return slots
        known = self._slots
        slots = np.fromiter((known[item] for item in items if item in known), dtype=np.int64)
        if shared:
            self._shared_slots = [(items, self.revision, slots), *self._shared_slots[: SHARED_KEPT - 1]]
        return slots

    def search_slots(self, query: np.ndarray, k: int, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` slots (and scores) for one query among the slots ``keep`` allows; for an
        index built once from a model's item table, slots are the model's item indices."""
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dimension)
        with self._lock:
            allowed = keep & self._live
            k = min(k, int(allowed.sum()))
            if k <= 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            scores, slots = self._search(query, k, allowed)
        found = slots[0] >= 0
        return slots[0][found].astype(np.int64), scores[0][found]

    def search_filtered(
        self, query: np.ndarray, k: int, accept: Callable[[str], bool], exclude: Collection[str] = ()
    ) -> list[Hit]:
        """Like ``search`` for one query, keeping only items ``accept`` allows; widens the search
        until ``k`` are found or the index is exhausted."""
        wanted = k
        while True:
            hits = self.search(query, wanted, exclude)[0]
            kept = [hit for hit in hits if accept(hit.item_id)]
            if len(kept) >= k or len(hits) < wanted:
                return kept[:k]
            wanted *= 4

    def _search(self, queries: np.ndarray, k: int, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores (inner products) and slots of the best ``k`` of ``keep`` for each query."""
        if self._lift is None:
            return self._search_stored(queries, k, keep)
        lifted = np.hstack([queries, np.zeros((len(queries), 1), dtype=np.float32)])
        distances, slots = self._search_stored(lifted, k, keep)
        squared = np.einsum("ij,ij->i", queries, queries)[:, None]  # |q - x'|² = |q|² + M² - 2 q·x
        return ((squared + self._lift**2 - distances) / 2).astype(np.float32), slots

    def _search_stored(self, queries: np.ndarray, k: int, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bits = None if bool(keep.all()) else np.packbits(keep, bitorder="little")
        selector = None if bits is None else faiss.IDSelectorBitmap(len(keep), faiss.swig_ptr(bits))
        kind, config = self.kind, self.config
        if kind == "hnsw":
            params: Any = faiss.SearchParametersHNSW(sel=selector, efSearch=max(config.ef_search, k))
        elif kind == "ivf":
            params = faiss.SearchParametersIVF(sel=selector, nprobe=config.ivf_probes)
        else:
            params = None if selector is None else faiss.SearchParameters(sel=selector)
        scores, slots = self._index.search(queries, k, params=params)
        del bits  # the selector reads it until here
        return scores, slots

    # -- persistence ------------------------------------------------------
    def save(self, directory: Path) -> None:
        """``vectors.npy`` + ``index.faiss`` + ``index.json`` (ids, live slots, config)."""
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._save(directory)

    def _save(self, directory: Path) -> None:
        np.save(directory / "vectors.npy", self._vectors)
        faiss.write_index(self._index, str(directory / "index.faiss"))
        meta = {
            "dimension": self.dimension,
            "config": asdict(self.config),
            "ids": self._ids,
            "live": self._live.tolist(),
            "lift": self._lift,
        }
        (directory / "index.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, directory: Path) -> VectorIndex:
        meta = json.loads((directory / "index.json").read_text())
        index = cls(int(meta["dimension"]), IndexConfig(**meta["config"]))
        index._ids = list(meta["ids"])
        index._live = np.array(meta["live"], dtype=bool)
        index._slots = {item: slot for slot, item in enumerate(index._ids) if index._live[slot]}
        index._vectors = np.load(directory / "vectors.npy")
        index._index = faiss.read_index(str(directory / "index.faiss"))
        index._lift = meta.get("lift")
        return index
