"""How a trained version places items nobody has interacted with: a map from item text and
metadata into one behaviour model's item space, saved with the version.

Fitted on the items with interactions (``understanding/item_map.py``); applied at training to
the catalog items without any, and at serving time to items created after training, so both
are scored by the user's vector like the items the model learned (the ``new-items`` source).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from homefeed.models.base import Recommender
from homefeed.models.data import Interactions
from homefeed.understanding.item_map import ItemVectorMap

NEW_ITEMS_DIR = "new-items"  # inside a version folder
# the behaviour spaces new items are mapped into, first found: the map into ALS ranks cold
# items best, then the map into the Transformer's item vectors (docs/benchmarks.md, cold items)
MAPPED_MODELS = ("als", "als-text", "sequential")
INFO_FILE = "new_items.json"


@dataclass(frozen=True)
class NewItemMap:
    """The map into model ``model``'s item vectors, the training catalog's items that had
    no interactions (``item_ids``), already mapped (``vectors``), and the mean and covariance
    of the vectors the model learned from interactions (how high a score is for a user)."""

    model: str
    item_map: ItemVectorMap
    item_ids: tuple[str, ...]
    vectors: np.ndarray  # [len(item_ids), dimension]
    mean: np.ndarray  # [dimension]
    covariance: np.ndarray  # [dimension, dimension]

    def save(self, directory: Path) -> None:
        self.item_map.save(directory, vectors=self.vectors, mean=self.mean, covariance=self.covariance)
        info = {"model": self.model, "item_ids": list(self.item_ids)}
        (directory / INFO_FILE).write_text(json.dumps(info), encoding="utf-8")

    def without(self, item_ids: Collection[str]) -> NewItemMap:
        """The same map without deleted ``item_ids``."""
        kept = [row for row, item in enumerate(self.item_ids) if item not in item_ids]
        ids = tuple(self.item_ids[row] for row in kept)
        return replace(self, item_ids=ids, vectors=self.vectors[kept])

    @classmethod
    def load(cls, directory: Path) -> NewItemMap:
        item_map, arrays = ItemVectorMap.load(directory)
        info = json.loads((directory / INFO_FILE).read_text(encoding="utf-8"))
        return cls(
            info["model"],
            item_map,
            tuple(info["item_ids"]),
            arrays["vectors"],
            arrays["mean"],
            arrays["covariance"],
        )


def fit_new_item_map(
    models: Mapping[str, Recommender],
    data: Interactions,
    recent_days: float | None = 30.0,
    regularization: float = 10.0,
) -> NewItemMap | None:
    """The map into the first of MAPPED_MODELS trained (None without one, or without item text):
    ridge from the items' text vectors and fields to the model's vectors of the warm items.
    The catalog items without interactions are mapped too when they are new: published at most
    ``recent_days`` before the latest event (None: all of them). An old item nobody chose is
    not news; exploration is its way to an audience."""
    name = next((name for name in MAPPED_MODELS if name in models), None)
    model = models[name] if name is not None else None
    targets = model.item_vectors() if model is not None else None
    if name is None or targets is None or data.item_text is None:
        return None
    warm = np.zeros(data.n_items, dtype=bool)
    warm[data.items] = True
    if not warm.any():
        return None
    item_map = ItemVectorMap.fit(data.item_text, data.item_fields, targets, warm, regularization)
    cold = np.flatnonzero(~warm).tolist()
    if recent_days is not None and data.item_fields is not None and len(data.timestamps):
        since = float(np.max(data.timestamps)) - recent_days * 86_400
        published = [data.item_fields[row].published_at for row in cold]
        cold = [row for row, at in zip(cold, published, strict=True) if at is not None and at >= since]
    fields = [data.item_fields[row] for row in cold] if data.item_fields is not None else None
    vectors = item_map.map(data.item_text[cold], fields)
    learned = np.asarray(targets, dtype=np.float64)[warm]
    covariance = np.cov(learned.T) if len(learned) > 1 else np.eye(learned.shape[1])
    ids = tuple(data.item_ids[row] for row in cold)
    return NewItemMap(name, item_map, ids, vectors, learned.mean(axis=0), np.atleast_2d(covariance))
