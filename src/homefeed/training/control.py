"""What an operator does with model versions: list them, pin one (every worker serves it until
unpinned, and pruning keeps it), roll back to the one before, delete one. Workers follow within
their poll interval (HOMEFEED_MODEL_POLL_SECONDS); the worker that took an admin call at once."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from homefeed.errors import HomefeedError, NotFoundError
from homefeed.training.integrity import quarantine_reason
from homefeed.training.versions import (
    MANIFEST,
    PIN,
    REJECTED,
    pinned_version,
    rejection_reason,
    served_version_path,
    version_folders,
)


@dataclass(frozen=True)
class VersionInfo:
    """One version as an operator sees it. ``status``: serving (what workers serve), pinned
    (and serving), kept (can be rolled back to), rejected by the quality gate or quarantined
    (both with ``reason``). ``gate``: the gate's verdict and figures, as in the manifest."""

    version: str
    status: str
    created_at: float | None
    models: list[str]
    users: int | None
    items: int | None
    events: int | None
    train_seconds: float | None
    size_bytes: int
    reason: str | None = None
    gate: dict[str, Any] | None = None


def list_versions(models_dir: Path) -> list[VersionInfo]:
    """Every complete version, newest first."""
    served = served_version_path(models_dir)
    pinned = pinned_version(models_dir)
    found = []
    for path in version_folders(models_dir):
        manifest = _manifest(path)
        reason = quarantine_reason(path)
        rejected = rejection_reason(path)
        if reason is not None:
            status = "quarantined"
        elif served is not None and path.name == served.name:
            status = "pinned" if path.name == pinned else "serving"
        elif rejected is not None:
            status, reason = "rejected", rejected
        else:
            status = "kept"
        found.append(
            VersionInfo(
                version=path.name,
                status=status,
                created_at=manifest.get("created_at"),
                models=list(manifest.get("models", [])),
                users=manifest.get("users"),
                items=manifest.get("items"),
                events=manifest.get("events"),
                train_seconds=manifest.get("total_seconds"),
                size_bytes=sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file()),
                reason=reason,
                gate=manifest.get("gate"),
            )
        )
    return found


def pin(models_dir: Path, version: str) -> None:
    """Serve ``version`` everywhere until unpinned (it must exist and not be quarantined)."""
    path = _existing(models_dir, version)
    reason = quarantine_reason(path)
    if reason is not None:
        raise HomefeedError(f"model version {version} is quarantined ({reason}); it cannot be pinned")
    temporary = models_dir / f".{PIN}.{os.getpid()}"
    temporary.write_text(json.dumps({"version": version, "at": time.time()}), encoding="utf-8")
    os.replace(temporary, models_dir / PIN)


def promote(models_dir: Path, version: str) -> None:
    """Overrule the quality gate: ``version`` becomes servable (the newest servable serves)."""
    path = _existing(models_dir, version)
    if rejection_reason(path) is None:
        raise HomefeedError(f"model version {version} was not rejected by the quality gate")
    (path / REJECTED).unlink(missing_ok=True)


def unpin(models_dir: Path) -> str | None:
    """Serve the newest version again; returns the version that was pinned, if one was."""
    pinned = pinned_version(models_dir)
    (models_dir / PIN).unlink(missing_ok=True)
    return pinned


def rollback(models_dir: Path) -> str:
    """Pin the intact version before the one served now; returns it."""
    served = served_version_path(models_dir)
    if served is None:
        raise NotFoundError(f"no model version in {models_dir} to roll back from")
    older = [
        path
        for path in version_folders(models_dir)
        if path.name < served.name and quarantine_reason(path) is None and rejection_reason(path) is None
    ]
    if not older:
        raise HomefeedError(f"no intact version older than {served.name} to roll back to")
    pin(models_dir, older[0].name)
    return older[0].name


def delete(models_dir: Path, version: str) -> None:
    """Delete a version's folder (not the pinned one: unpin it first)."""
    path = _existing(models_dir, version)
    if version == pinned_version(models_dir):
        raise HomefeedError(f"model version {version} is pinned: unpin it first (homefeed versions unpin)")
    shutil.rmtree(path)


def _existing(models_dir: Path, version: str) -> Path:
    path = models_dir / version
    if version.startswith(".") or "/" in version or not (path / MANIFEST).is_file():
        known = [entry.name for entry in version_folders(models_dir)]
        raise NotFoundError(f"no model version {version!r} in {models_dir}; the versions: {known}")
    return path


def _manifest(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded
