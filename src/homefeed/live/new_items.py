"""The vectors, in a behaviour model's space, of the catalog items that model has no
interactions for, kept in step with API writes (read by the ``new-items`` source)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence

import numpy as np

from homefeed.domain import Item
from homefeed.live.catalog import Catalog
from homefeed.models.new_items import NewItemMap
from homefeed.store import Store
from homefeed.training.versions import ModelBundle
from homefeed.understanding.semantic import SemanticSpace

logger = logging.getLogger(__name__)


class NewItemVectors:
    """Starts from the items a version found without interactions at training; items written
    later are mapped from their text vectors and fields as they arrive. Readers take one
    immutable snapshot, so a write never changes a page half-way."""

    def __init__(self, version: str, mapped: NewItemMap, known: Collection[str]) -> None:
        """``known``: the item ids the model learned from interactions (never "new")."""
        self.version = version
        self.model = mapped.model
        self.item_map = mapped.item_map
        self.known = known
        self.mean = np.asarray(mapped.mean, dtype=np.float64)
        self.covariance = np.asarray(mapped.covariance, dtype=np.float64)
        self._lock = threading.Lock()
        self._snapshot: tuple[tuple[str, ...], np.ndarray] = (mapped.item_ids, mapped.vectors)

    @classmethod
    def place(
        cls, bundle: ModelBundle, catalog: Catalog, store: Store, space: SemanticSpace
    ) -> NewItemVectors | None:
        """``bundle``'s new-item map applied to the catalog items it has no interactions for
        (items created after training are read from the store and mapped from their text
        vectors in ``space``); None without a map, or when mapping fails (pages do without)."""
        mapped = bundle.new_items
        model = bundle.get(mapped.model) if mapped is not None else None
        if mapped is None or model is None:
            return None
        try:
            cold = set(mapped.item_ids)
            vectors = cls(
                bundle.version, mapped, {item_id for item_id in model.item_ids if item_id not in cold}
            )
            unknown = [item_id for item_id in catalog.ids() if model.item_index(item_id) is None]
            if unknown:
                items = store.get_items(unknown)
                vectors.upsert(items, space.vectors([item.id for item in items]))
        except Exception:
            logger.exception("mapping the new items of version %s failed", bundle.version)
            return None
        return vectors

    def snapshot(self) -> tuple[tuple[str, ...], np.ndarray]:
        """Item ids and their vectors [len(ids), dimension]."""
        return self._snapshot

    def standardized(self, scores: np.ndarray, user: np.ndarray) -> np.ndarray:
        """``scores`` (inner products with ``user``) in standard deviations above the mean
        score of the items learned from interactions, for that user: 0 is an average item,
        1.3 about the top tenth."""
        user = np.asarray(user, dtype=np.float64)
        spread = float(np.sqrt(max(user @ self.covariance @ user, 1e-12)))
        standardized: np.ndarray = (scores - float(self.mean @ user)) / spread
        return standardized

    def upsert(self, items: Sequence[Item], text: np.ndarray) -> int:
        """Map ``items`` the model did not learn (``text``: their text vectors, in order);
        returns how many were mapped."""
        rows = [row for row, item in enumerate(items) if item.id not in self.known]
        if not rows:
            return 0
        chosen = [items[row] for row in rows]
        vectors = self.item_map.map(np.asarray(text, dtype=np.float32)[rows], chosen)
        with self._lock:
            ids, table = self._snapshot
            replaced = {item.id for item in chosen}
            keep = [row for row, item_id in enumerate(ids) if item_id not in replaced]
            self._snapshot = (
                tuple(ids[row] for row in keep) + tuple(item.id for item in chosen),
                np.vstack([table[keep], vectors]).astype(np.float32),
            )
        return len(chosen)

    def remove(self, item_ids: Collection[str]) -> None:
        with self._lock:
            ids, table = self._snapshot
            keep = [row for row, item_id in enumerate(ids) if item_id not in item_ids]
            self._snapshot = (tuple(ids[row] for row in keep), table[keep])
