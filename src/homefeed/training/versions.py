"""Versioned model folders: what one training run wrote, loaded as a :class:`ModelBundle`.

A version is written to a hidden temporary folder and renamed into place only when complete,
so a reader never sees half a model; the newest complete folder that loads is the one served.
One that does not (a corrupt, missing or incompatible file) is quarantined (see ``integrity``).
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from homefeed.errors import ModelNotTrainedError
from homefeed.events import EventPolicy
from homefeed.models.base import Recommender
from homefeed.models.new_items import NEW_ITEMS_DIR, NewItemMap
from homefeed.training.integrity import (
    CorruptVersionError,
    mark,
    marker_reason,
    quarantine,
    quarantine_reason,
    verify_files,
)
from homefeed.training.registry import model_class
from homefeed.vectors import IndexConfig, VectorIndex

SEMANTIC_DIR = "semantic"  # the item text index inside a version folder
INDEX_DIR = "index"  # a model's saved HNSW index over its item vectors, inside the model's folder
MANIFEST = "manifest.json"
PIN = "pinned.json"  # in the models folder: the version an operator pinned
REJECTED = "rejected.json"  # in a version folder: the quality gate turned it down, and why
LOCK = ".lock"  # in the models folder: readers share it, a rewrite of versions holds it alone


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

    def personal_order(self, configured: Sequence[str]) -> tuple[str, ...]:
        """The models that back the personal row, in the order tried: the order training chose
        on validation (``homefeed train --tune``, the manifest's selection), else ``configured``;
        then every other model of the version that scores a user's own taste."""
        chosen = self.manifest.get("selection", {}).get("personal") or configured
        order = [name for name in chosen if name in self.models]
        order += [name for name, model in self.models.items() if model.personal and name not in order]
        return tuple(order)

    def with_choices(self, **choices: Any) -> ModelBundle:
        """The same models under other tuned choices (the manifest's ``selection`` fields, e.g.
        ``blend``): what a page built from them would be, asked without changing this one."""
        selection = {**self.manifest.get("selection", {}), **choices}
        return replace(self, manifest={**self.manifest, "selection": selection})

    def forget(self, users: Collection[str] = (), items: Collection[str] = ()) -> bool:
        """Forget deleted users and items in the models held in memory (see
        :meth:`Recommender.forget`); returns whether anything changed."""
        changed = False
        for model in self.models.values():
            changed = model.forget(users, items) or changed
        if items and self.new_items is not None:
            self.new_items = self.new_items.without(items)
        return changed

    def holds_user(self, user_id: str) -> bool:
        """Whether any model of the version (or a part of one) knows ``user_id``."""
        return any(model.user_index(user_id) is not None for _, model in self.every_model())

    def held_about(self, user_id: str) -> dict[str, Any]:
        """What each model of the version holds about ``user_id`` (for the user's export)."""
        return {name: found for name, model in self.models.items() if (found := model.held_about(user_id))}

    def events(self, default: EventPolicy) -> EventPolicy:
        """The event weights and value rule the version was trained with (``default`` for a
        version that did not record them): the page reads a user's history with these."""
        weights = self.manifest.get("event_weights")
        if weights is None:
            return default
        return EventPolicy(weights, self.manifest.get("event_values", "ignored"))

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


def version_folders(models_dir: Path) -> list[Path]:
    """Every complete version folder, newest first, quarantined ones included."""
    if not models_dir.is_dir():
        return []
    complete = [
        entry
        for entry in models_dir.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and (entry / MANIFEST).exists()
    ]
    return sorted(complete, key=lambda entry: entry.name, reverse=True)


def latest_version_path(models_dir: Path) -> Path | None:
    """The newest complete version folder neither quarantined nor rejected, or None."""
    return next((entry for entry in version_folders(models_dir) if _servable(entry)), None)


def reject(folder: Path, reason: str) -> None:
    """Mark ``folder`` as turned down by the quality gate (kept, not served unless pinned)."""
    mark(folder, REJECTED, reason)


def rejection_reason(folder: Path) -> str | None:
    """Why the quality gate turned ``folder`` down, or None when it did not."""
    return marker_reason(folder, REJECTED, "rejected (no reason recorded)")


def _servable(entry: Path) -> bool:
    return quarantine_reason(entry) is None and rejection_reason(entry) is None


def pinned_version(models_dir: Path) -> str | None:
    """The version an operator pinned (``homefeed versions pin``), if any."""
    try:
        pinned = json.loads((models_dir / PIN).read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        return None
    return str(pinned) if pinned else None


def served_version_path(models_dir: Path) -> Path | None:
    """The version every worker serves: the pinned one while it is intact, else the newest
    intact one."""
    return next(iter(_candidates(models_dir)), None)


def _candidates(models_dir: Path) -> list[Path]:
    """Versions to serve, best first: the pinned one (even one the gate rejected: the
    operator chose it), then the others newest first (none quarantined or rejected)."""
    pinned = pinned_version(models_dir)
    usable = [
        entry
        for entry in version_folders(models_dir)
        if _servable(entry) or (entry.name == pinned and quarantine_reason(entry) is None)
    ]
    return sorted(usable, key=lambda entry: entry.name != pinned)  # stable: newest first after it


@contextmanager
def versions_lock(models_dir: Path, exclusive: bool) -> Iterator[None]:
    """The models folder's lock (``flock``, so every process on the machine sees it): loading a
    version shares it; rewriting versions (forgetting deleted data) holds it alone."""
    models_dir.mkdir(parents=True, exist_ok=True)
    with open(models_dir / LOCK, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_bundle(path: Path) -> ModelBundle:
    """The version in ``path``, its files checked against the manifest's checksums first;
    any failure is a :class:`CorruptVersionError` naming the version and what is wrong. Waits
    while versions are being rewritten."""
    with versions_lock(path.parent, exclusive=False):
        return read_bundle(path)


def read_bundle(path: Path) -> ModelBundle:
    """:func:`load_bundle` for a caller that holds the models folder's lock."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        verify_files(path, manifest)
        models = {name: model_class(name).load(path / name) for name in manifest["models"]}
        mapped = path / NEW_ITEMS_DIR
        new_items = NewItemMap.load(mapped) if mapped.is_dir() else None
        return ModelBundle(path.name, path, manifest, models, new_items)  # the folder is the name
    except CorruptVersionError as error:
        raise CorruptVersionError(f"model version {path.name}: {error}") from error
    except Exception as error:  # whatever a damaged file makes a reader raise
        raise CorruptVersionError(f"model version {path.name}: {type(error).__name__}: {error}") from error


@dataclass(frozen=True)
class Loaded:
    """What looking for a newer version found: the bundle to serve (None: keep what is served)
    and the versions quarantined on the way, each with its reason."""

    bundle: ModelBundle | None
    quarantined: tuple[tuple[str, str], ...] = ()


def load_newest(models_dir: Path, serving: str | None = None) -> Loaded:
    """The version to serve (the pinned one, else the newest) when it is not ``serving``
    already; one that fails to load is quarantined with its reason and the next is tried."""
    quarantined: list[tuple[str, str]] = []
    for path in _candidates(models_dir):
        if path.name == serving:
            break
        try:
            return Loaded(load_bundle(path), tuple(quarantined))
        except CorruptVersionError as error:
            quarantine(path, str(error))
            quarantined.append((path.name, str(error)))
    return Loaded(None, tuple(quarantined))


def load_latest(models_dir: Path) -> ModelBundle:
    """The newest version (for tools and tests: a corrupt one raises, nothing is quarantined)."""
    path = latest_version_path(models_dir)
    if path is None:
        raise ModelNotTrainedError(f"no trained model in {models_dir}: run `homefeed train` first")
    return load_bundle(path)


def prune_versions(models_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` servable versions (and the pinned one), and quarantined
    or rejected versions older than the oldest one kept; returns what was removed."""
    kept: list[Path] = []
    removed: list[Path] = []
    pinned = pinned_version(models_dir)
    for entry in version_folders(models_dir):
        if entry.name == pinned:
            continue
        intact = _servable(entry)
        if intact and len(kept) < keep:
            kept.append(entry)
        elif intact or len(kept) >= keep:
            removed.append(entry)
    for entry in removed:
        shutil.rmtree(entry)
    return removed
