"""Versioned model directories: train every configured model, save together, load the newest.

A version is written to a hidden temporary folder and renamed into place only when
complete, so a reader never sees half a model.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from homefeed.config import Settings
from homefeed.domain import Item, UserProfile
from homefeed.errors import ModelNotTrainedError
from homefeed.models.base import Recommender
from homefeed.models.data import Interactions
from homefeed.models.new_items import MAPPED_MODELS, NEW_ITEMS_DIR, NewItemMap, fit_new_item_map
from homefeed.models.registry import build_model, model_class
from homefeed.models.sequential import SequentialRecommender
from homefeed.ranking.ltr import RankerRecommender
from homefeed.store import Store
from homefeed.understanding.semantic import embed_interests, open_semantic_space
from homefeed.vectors import IndexConfig, VectorIndex

DEFAULT_MODELS = ("popularity", "profile", "covisitation", "als")
SEMANTIC_DIR = "semantic"  # the item text index inside a version folder
INDEX_DIR = "index"  # a model's saved HNSW index over its item vectors, inside the model's folder
StepCallback = Callable[[str], None]


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


def train_bundle(
    store: Store,
    settings: Settings,
    names: Sequence[str] = DEFAULT_MODELS,
    on_step: StepCallback | None = None,
) -> ModelBundle:
    """Read the behaviour log, fit each named model and save them as one new version."""
    for name in names:
        model_class(name)  # unknown names fail before any work is done
    step = on_step or (lambda _message: None)
    step("reading events")
    started = time.perf_counter()
    catalog = list(store.iter_items())
    data = Interactions.from_rows(
        store.iter_event_rows(), settings.event_weights, [item.id for item in catalog]
    )
    by_id = {item.id: item for item in catalog}
    in_order = [by_id[item_id] for item_id in data.item_ids]  # the models' item order
    data.item_fields = in_order
    if len(data.users) == 0:
        raise ModelNotTrainedError(
            "no usable events to train on: import data first (homefeed import ...) "
            "or send events to POST /v1/events"
        )
    if "profile" in names or "ranker" in names:
        step("reading user profiles")
        known = (user for user in store.iter_users() if data.user_index(user.id) is not None)
        data.profiles = {user.id: user for user in known}
    models: dict[str, Recommender] = {}
    timings: dict[str, float] = {}
    for name in names:
        model = build_model(name, settings)
        reads_text = isinstance(model, RankerRecommender) or (
            isinstance(model, SequentialRecommender) and model.settings.use_text
        )
        if reads_text and data.item_text is None:
            step("embedding item texts")
            data.item_text = _embed(settings, store, in_order)
        if isinstance(model, RankerRecommender) and not data.interests and data.profiles:
            step("embedding stated interests")
            data.interests = _embed_interests(settings, data.profiles)
        if isinstance(model, SequentialRecommender):

            def report(epoch: int, loss: float, valid: float | None, name: str = name) -> None:
                shown = f", valid NDCG@10 {valid:.4f}" if valid is not None else ""
                step(f"fitting {name}: epoch {epoch}, loss {loss:.3f}{shown}")

            model.on_epoch = report
        step(f"fitting {name}")
        begin = time.perf_counter()
        models[name] = model.fit(data)
        timings[name] = round(time.perf_counter() - begin, 3)
    new_items = None
    if settings.semantic.enabled and any(name in models for name in MAPPED_MODELS):
        if data.item_text is None:
            step("embedding item texts")
            data.item_text = _embed(settings, store, in_order)
        step("mapping item text into the behaviour space")
        new_items = fit_new_item_map(models, data, settings.homepage.new_items_days)
    version = new_version()
    root = settings.effective_models_dir
    temporary = root / f".tmp-{version}"
    step("saving")
    config = IndexConfig(hnsw_above=settings.semantic.exact_below)
    for name, model in models.items():
        model.save(temporary / name)
        vectors = model.item_vectors()
        if vectors is not None and len(vectors) > config.hnsw_above:
            step(f"indexing {name} item vectors (HNSW)")  # minutes at a million items: not at load
            VectorIndex.build(model.item_ids, vectors, config).save(temporary / name / INDEX_DIR)
    if new_items is not None:
        new_items.save(temporary / NEW_ITEMS_DIR)
    if settings.semantic.enabled:
        step("indexing item text")
        open_semantic_space(settings, store, catalog).save(temporary / SEMANTIC_DIR)
    manifest = {
        "version": version,
        "created_at": time.time(),
        "models": list(names),
        "users": data.n_users,
        "items": data.n_items,
        "events": len(data.users),
        "fit_seconds": timings,
        "total_seconds": round(time.perf_counter() - started, 3),
        "event_weights": settings.event_weights,
        "reports": {
            name: model.report for name, model in models.items() if isinstance(model, RankerRecommender)
        },
    }
    (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    final = root / version
    os.replace(temporary, final)
    return ModelBundle(version, final, manifest, models, new_items)


def _embed(settings: Settings, store: Store, items: list[Item]) -> np.ndarray:
    """Text embeddings of ``items``, in their order (cached in the store)."""
    from homefeed.encoders.cache import embed_items
    from homefeed.encoders.loading import shared_encoder

    encoder = shared_encoder(settings.text_model, settings.text_backend, settings.encoder_cache_dir)
    return embed_items(items, encoder, store, settings.item_text_template)


def _embed_interests(
    settings: Settings, profiles: dict[str, UserProfile]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Unit vectors of each user's liked and disliked interest phrases (users who stated any)."""
    from homefeed.encoders.loading import shared_encoder

    stated = {user_id: profile.interests for user_id, profile in profiles.items() if profile.interests}
    if not stated:
        return {}
    encoder = shared_encoder(settings.text_model, settings.text_backend, settings.encoder_cache_dir)
    queries = embed_interests(list(stated.values()), encoder)
    return {
        user_id: (query.liked, query.disliked)
        for user_id, query in zip(stated, queries, strict=True)
        if query.interests
    }


def latest_version_path(models_dir: Path) -> Path | None:
    """The newest complete version folder, or None when nothing was trained yet."""
    if not models_dir.is_dir():
        return None
    complete = [
        entry
        for entry in models_dir.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and (entry / "manifest.json").exists()
    ]
    return max(complete, key=lambda entry: entry.name) if complete else None


def load_bundle(path: Path) -> ModelBundle:
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    models = {name: model_class(name).load(path / name) for name in manifest["models"]}
    mapped = path / NEW_ITEMS_DIR
    new_items = NewItemMap.load(mapped) if mapped.is_dir() else None
    return ModelBundle(manifest["version"], path, manifest, models, new_items)


def sequential_models(bundle: ModelBundle) -> list[SequentialRecommender]:
    """The version's Transformers: its own and the ranker's source."""
    found: list[SequentialRecommender] = []
    for model in bundle.models.values():
        inner = model.models.values() if isinstance(model, RankerRecommender) else [model]
        found += [each for each in inner if isinstance(each, SequentialRecommender)]
    return found


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
