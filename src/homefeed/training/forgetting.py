"""Deletion that reaches the model versions on disk: every kept version folder is rewritten
without the deleted users and items (:meth:`Recommender.forget` for the models, the saved
vector indexes and new-item map for items), under the models folder's lock, so no worker loads
a version halfway through a rewrite.

A user's id and every row held per user (factors, histories, sequences, profile groups) go at
once; what they left in aggregates (item factors, co-visitation counts, network weights) goes
with the next training, which reads the store and never sees them. A version that cannot be
read cannot be scrubbed: it is removed, since no worker may ever serve it.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homefeed.models.new_items import NEW_ITEMS_DIR, NewItemMap
from homefeed.training.integrity import QUARANTINE, file_checksums
from homefeed.training.versions import (
    INDEX_DIR,
    MANIFEST,
    REJECTED,
    SEMANTIC_DIR,
    ModelBundle,
    read_bundle,
    version_folders,
    versions_lock,
)
from homefeed.vectors import IndexConfig, VectorIndex

logger = logging.getLogger(__name__)
SCRUBBING = ".scrub-"  # a version's rewrite in progress (hidden: no reader lists it)


@dataclass
class Forgotten:
    """What forgetting did to the versions on disk."""

    rewritten: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # unreadable versions, deleted whole


def delete_and_forget(
    models_dir: Path, delete: Callable[[], bool], users: Collection[str] = (), items: Collection[str] = ()
) -> bool:
    """Run the store's ``delete`` (False: nothing to delete) and then forget ``users`` and
    ``items`` in every version, both under the lock: a worker that starts after the deletion
    was noted in the store loads versions already scrubbed, and one that was running reads
    the note and forgets them in memory."""
    with versions_lock(models_dir, exclusive=True):
        if not delete():
            return False
        forget_locked(models_dir, users, items)
    return True


def forget_locked(models_dir: Path, users: Collection[str], items: Collection[str]) -> Forgotten:
    """Rewrite every version folder in ``models_dir`` without ``users`` and ``items`` (the
    caller holds the lock)."""
    done = Forgotten()
    for leftover in models_dir.glob(f"{SCRUBBING}*"):  # a rewrite a crash stopped: it goes
        shutil.rmtree(leftover, ignore_errors=True)
    if users or items:
        for folder in version_folders(models_dir):
            try:
                if forget_in_folder(folder, users, items):
                    done.rewritten.append(folder.name)
            except Exception as error:  # corrupt or unreadable: it may hold them, so it goes
                logger.error(
                    "model version %s could not forget deleted data (%s): removed", folder.name, error
                )
                shutil.rmtree(folder, ignore_errors=True)
                for leftover in models_dir.glob(f"{SCRUBBING}*"):
                    shutil.rmtree(leftover, ignore_errors=True)
                done.removed.append(folder.name)
    if done.rewritten or done.removed:
        logger.info(
            "forgot %d user(s) and %d item(s) in versions %s; removed unreadable %s",
            len(users),
            len(items),
            done.rewritten,
            done.removed,
        )
    return done


def forget_in_folder(folder: Path, users: Collection[str], items: Collection[str]) -> bool:
    """Rewrite one version folder (the caller holds the lock) when it holds any of ``users`` or
    ``items``; returns whether it did."""
    if not _named(folder, [*users, *items]):  # most deletions: a text search, no model loaded
        return False
    bundle = read_bundle(folder)
    changed = [name for name, model in bundle.models.items() if model.forget(users, items)]
    extras = _held_items(folder, items)
    if not changed and not extras:
        return False
    staging = folder.parent / f"{SCRUBBING}{folder.name}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(folder, staging)
    for name in changed:
        _rewrite_model(bundle, name, staging / name, items)
    for relative in extras:
        if relative.split("/")[0] not in changed:  # a changed model's index was built again
            _purge_index(staging / relative, items)
    if (staging / NEW_ITEMS_DIR).is_dir() and items:
        mapped = NewItemMap.load(staging / NEW_ITEMS_DIR).without(items)
        shutil.rmtree(staging / NEW_ITEMS_DIR)
        mapped.save(staging / NEW_ITEMS_DIR)
    _rewrite_manifest(staging, bundle, len(users), len(items))
    retired = folder.parent / f"{SCRUBBING}old-{folder.name}"
    folder.rename(retired)  # the lock keeps readers out between the two renames
    staging.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)
    return True


def _named(folder: Path, ids: Collection[str]) -> bool:
    """Whether any model's vocabulary file in ``folder`` may name one of ``ids`` (as JSON
    strings: a false alarm only costs a load)."""
    wanted = [json.dumps(found) for found in ids]
    for meta in folder.rglob("model.json"):
        text = meta.read_text(encoding="utf-8")
        if any(found in text for found in wanted):
            return True
    return False


def _rewrite_model(bundle: ModelBundle, name: str, target: Path, items: Collection[str]) -> None:
    """Save model ``name`` afresh into ``target`` with its saved index: kept when it holds none
    of ``items``, else built again from the model's forgotten vectors (purging would close
    the gaps, and the index's slots must stay the model's item indices)."""
    saved_index = target / INDEX_DIR
    kept_index = target.parent / f".index-{name}"
    if saved_index.is_dir():
        saved_index.rename(kept_index)
    shutil.rmtree(target)
    model = bundle.models[name]
    model.save(target)
    if not kept_index.is_dir():
        return
    meta = json.loads((kept_index / "index.json").read_text(encoding="utf-8"))
    vectors = model.item_vectors()
    if set(meta["ids"]).isdisjoint(items) or vectors is None:  # users only: nothing of theirs in it
        kept_index.rename(saved_index)
        return
    VectorIndex.build(model.item_ids, vectors, IndexConfig(**meta["config"])).save(saved_index)
    shutil.rmtree(kept_index)


def _held_items(folder: Path, items: Collection[str]) -> list[str]:
    """The saved indexes of the version (text and model vectors) that hold any of ``items``."""
    if not items:
        return []
    found = []
    for meta in [folder / SEMANTIC_DIR / "index.json", *folder.glob(f"*/{INDEX_DIR}/index.json")]:
        if meta.is_file() and not set(json.loads(meta.read_text(encoding="utf-8"))["ids"]).isdisjoint(items):
            found.append(meta.parent.relative_to(folder).as_posix())
    return found


def _purge_index(directory: Path, items: Collection[str]) -> None:
    """Drop ``items`` from a saved vector index (ids and vectors) and, for the text index, the
    record of the texts they were embedded from."""
    index = VectorIndex.load(directory)
    index.purge(items)
    index.save(directory)
    meta_path = directory / "semantic.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["hashes"] = {item: text for item, text in meta.get("hashes", {}).items() if item not in items}
        meta_path.write_text(json.dumps(meta), encoding="utf-8")


def _rewrite_manifest(staging: Path, bundle: ModelBundle, users: int, items: int) -> None:
    """The manifest with the deletions applied (counts only, never ids) and fresh checksums."""
    manifest = dict(bundle.manifest)
    before = manifest.get("forgotten", {})
    manifest["forgotten"] = {
        "users": int(before.get("users", 0)) + users,
        "items": int(before.get("items", 0)) + items,
        "at": time.time(),
    }
    markers = frozenset({MANIFEST, REJECTED, QUARANTINE})  # written after checksumming
    manifest["files"] = file_checksums(staging, skip=markers)
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def held_in_versions(models_dir: Path, user_id: str) -> dict[str, dict[str, Any]]:
    """Per version on disk, what its models hold about ``user_id`` (for the user's export);
    versions that hold nothing, or cannot be read, are left out."""
    held: dict[str, dict[str, Any]] = {}
    with versions_lock(models_dir, exclusive=False):
        for folder in version_folders(models_dir):
            try:
                found = read_bundle(folder).held_about(user_id)
            except Exception:
                logger.exception("model version %s could not be read for an export", folder.name)
                continue
            if found:
                held[folder.name] = found
    return held
