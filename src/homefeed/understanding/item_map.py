"""A ridge map from what an item says (its text vector, tags, publish time) to a behaviour
model's item vectors, fitted on the items people interacted with.

Items nobody has interacted with yet (created after training, or never clicked) then get a
vector in the model's own space and are scored by the user's vector like any other item: the
cold-start hybrid, which ranks cold items about twice as well as text similarity alone
(docs/benchmarks.md, cold items).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from homefeed.domain import ItemFields
from homefeed.understanding.item_features import ItemFeatureSpace

MAP_FILE, META_FILE = "map.npz", "map.json"


@dataclass(frozen=True)
class ItemVectorMap:
    """``weights`` [features + 1, dimension] maps ridge inputs (intercept last) to item vectors."""

    weights: np.ndarray
    feature_space: ItemFeatureSpace | None = None  # None: the text vector alone
    metadata_weight: float = 0.5  # scale of the tag and time columns against the text vector

    @classmethod
    def fit(
        cls,
        text: np.ndarray,
        fields: Sequence[ItemFields] | None,
        targets: np.ndarray,
        warm: np.ndarray,
        regularization: float = 10.0,
        metadata_weight: float = 0.5,
    ) -> ItemVectorMap:
        """Fit on the ``warm`` rows of ``text`` [n, d] / ``fields`` against ``targets`` [n, k]:
        the feature space (tags, time steps) is read from every item, the map from warm ones."""
        space = ItemFeatureSpace.fit(fields) if fields is not None and metadata_weight > 0 else None
        blank = cls(np.zeros((0, targets.shape[1]), dtype=np.float32), space, metadata_weight)
        inputs = blank.features(text, fields)[warm]
        penalty = regularization * np.eye(inputs.shape[1])
        penalty[-1, -1] = 0.0  # the intercept is not shrunk
        solution = np.linalg.solve(
            inputs.T @ inputs + penalty, inputs.T @ np.asarray(targets, dtype=np.float64)[warm]
        )
        return cls(solution.astype(np.float32), space, metadata_weight)

    def features(self, text: np.ndarray, fields: Sequence[ItemFields] | None) -> np.ndarray:
        """[n, text dimension (+ metadata columns) + 1] ridge inputs, intercept last."""
        parts = [np.asarray(text, dtype=np.float64)]
        if self.feature_space is not None:
            if fields is None:
                raise ValueError("this map reads item metadata too: give the items' fields")
            parts.append(self.metadata_weight * self.feature_space.transform(fields).astype(np.float64))
        parts.append(np.ones((len(text), 1)))
        return np.hstack(parts)

    def map(self, text: np.ndarray, fields: Sequence[ItemFields] | None = None) -> np.ndarray:
        """Item vectors [n, dimension] for items known by text vectors [n, d] and their fields."""
        mapped: np.ndarray = (self.features(text, fields) @ self.weights).astype(np.float32)
        return mapped

    def to_dict(self) -> dict[str, object]:
        space = self.feature_space.to_dict() if self.feature_space is not None else None
        return {"feature_space": space, "metadata_weight": self.metadata_weight}

    @classmethod
    def from_dict(cls, stored: dict[str, object], weights: np.ndarray) -> ItemVectorMap:
        space = stored.get("feature_space")
        feature_space = ItemFeatureSpace.from_dict(space) if isinstance(space, dict) else None
        weight = stored.get("metadata_weight", 0.5)
        return cls(weights, feature_space, float(weight) if isinstance(weight, int | float) else 0.5)

    def save(self, directory: Path, **arrays: np.ndarray) -> None:
        """The map (and any ``arrays`` stored beside it) as JSON + npz; never pickle."""
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / MAP_FILE, allow_pickle=False, weights=self.weights, **arrays)
        (directory / META_FILE).write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> tuple[ItemVectorMap, dict[str, np.ndarray]]:
        """The saved map and the arrays stored beside it."""
        with np.load(directory / MAP_FILE, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        return cls.from_dict(meta, arrays.pop("weights")), arrays
