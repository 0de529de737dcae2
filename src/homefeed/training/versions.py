"""Versioned model folders: what one training run wrote, loaded as a :class:`ModelBundle`.

A version is written to a hidden temporary folder and renamed into place only when complete,
so a reader never sees half a model; the newest complete folder is the one served.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from homefeed.errors import ModelNotTrainedError
from homefeed.events import EventPolicy
from homefeed.models.base import Recommender
from homefeed.models.new_items import NEW_ITEMS_DIR, NewItemMap
from homefeed.training.registry import model_class
from homefeed.vectors import IndexConfig, VectorIndex

SEMANTIC_DIR = "semantic"  # the item text index inside a version folder
INDEX_DIR = "index"  # a model's saved HNSW index over its item vectors, inside the model's folder
MANIFEST = "manifest.json"


@dataclass
class ModelBundle:
    """The models of one training run, with the manifest that describes it."""

    version: str
    path: Path
    manifest: dict[str, Any]
    models: dict[str, Recommender] = field(default_factory=dict)
    new_items: NewItemMap | None = None  # how items without interactions enter a model's space

    def get(self, name: str) -> Recommender | None:
        return self.models.get(name)

    def find(self, name: str) -> Recommender | None:
        """Model ``name``, trained on its own or as a part of another (a ranker's source)."""
        return next((model for found, model in self.every_model() if found == name), None)

    def every_model(self) -> Iterator[tuple[str, Recommender]]:
        """(name, model) of the version's models in training order, then of their parts."""
        yield from self.models.items()
        for model in self.models.values():
            yield from model.parts().items()

    def events(self, default: EventPolicy) -> EventPolicy:
        """The event weights the version was trained with (``default`` for a version that did
        not record them): the page reads a user's history with these."""
        weights = self.manifest.get("event_weights")
        return EventPolicy(weights) if weights is not None else default

    def vector_index(self, name: str, config: IndexConfig) -> VectorIndex | None:
        """A search index over model ``name``'s item vectors (slots = its item indices): the
        HNSW graph saved at training when there is one, else built now (exact search is
        instant to build); None when the model has no item vectors."""
        model = self.models.get(name)
        vectors = model.item_vectors() if model is not None else None
        if model is None or vectors is None:
            return None
        saved = self.path / name / INDEX_DIR
        if (saved / "index.json").exists():
            return VectorIndex.load(saved)
        return VectorIndex.build(model.item_ids, vectors, config)


def new_version() -> str:
    """Sortable, readable version names, e.g. ``20261129T081500123456Z``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def latest_version_path(models_dir: Path) -> Path | None:
    """The newest complete version folder, or None when nothing was trained yet."""
    if not models_dir.is_dir():
        return None
    complete = [
        entry
        for entry in models_dir.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and (entry / MANIFEST).exists()
    ]
    return max(complete, key=lambda entry: entry.name) if complete else None


def load_bundle(path: Path) -> ModelBundle:
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    models = {name: model_class(name).load(path / name) for name in manifest["models"]}
    mapped = path / NEW_ITEMS_DIR
    new_items = NewItemMap.load(mapped) if mapped.is_dir() else None
    return ModelBundle(manifest["version"], path, manifest, models, new_items)


def load_latest(models_dir: Path) -> ModelBundle:
    path = latest_version_path(models_dir)
    if path is None:
        raise ModelNotTrainedError(f"no trained model in {models_dir}: run `homefeed train` first")
    return load_bundle(path)


def prune_versions(models_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` versions; returns what was removed."""
    versions = sorted(
        (entry for entry in models_dir.iterdir() if entry.is_dir() and not entry.name.startswith(".")),
        key=lambda entry: entry.name,
    )
    removed = versions[:-keep] if keep > 0 else versions
    for entry in removed:
        shutil.rmtree(entry)
    return removed
