"""A version folder's integrity: every file's checksum in the manifest, verified before load, and
quarantine for a version that cannot be served (corrupt, missing or incompatible artifacts).

A quarantined version keeps its files and gets a ``quarantine.json`` saying why; no worker loads
it again. Deleting that file lets the service try the version once more.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from homefeed.errors import HomefeedError

ARTIFACT_FORMAT = 1  # bumped when a version folder's layout changes in a way older code cannot read
QUARANTINE = "quarantine.json"
_CHUNK = 1 << 20


class CorruptVersionError(HomefeedError):
    """A model version whose files do not match its manifest or cannot be read."""

    code = "corrupt_version"


def file_checksums(folder: Path, skip: frozenset[str] = frozenset()) -> dict[str, dict[str, Any]]:
    """SHA-256 and size of every file under ``folder`` (by POSIX path relative to it)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and relative not in skip:
            found[relative] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
    return found


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Raise :class:`CorruptVersionError` naming the first file that is missing, of the wrong
    size or with the wrong checksum, or when the version's format is newer than this code reads.
    Versions written before checksums were recorded are accepted as they are."""
    written = manifest.get("format", ARTIFACT_FORMAT)
    if not isinstance(written, int) or written > ARTIFACT_FORMAT:
        raise CorruptVersionError(
            f"artifact format {written!r} (written by homefeed {manifest.get('homefeed', '?')}); "
            f"this homefeed reads format {ARTIFACT_FORMAT} and older: upgrade it or retrain"
        )
    for relative, expected in manifest.get("files", {}).items():
        path = folder / relative
        if not path.is_file():
            raise CorruptVersionError(f"{relative} is missing")
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise CorruptVersionError(f"{relative} has {size} bytes, the manifest says {expected['bytes']}")
        if _sha256(path) != expected["sha256"]:
            raise CorruptVersionError(f"{relative} does not match its checksum")


def mark(folder: Path, name: str, reason: str) -> None:
    """Write the marker file ``name`` with ``reason`` into ``folder`` (atomic: a reader sees all
    or none); quarantine and the quality gate's rejection are such markers."""
    temporary = folder / f".{name}.{os.getpid()}"
    temporary.write_text(json.dumps({"reason": reason, "at": time.time()}), encoding="utf-8")
    os.replace(temporary, folder / name)


def marker_reason(folder: Path, name: str, unrecorded: str) -> str | None:
    """The reason in ``folder``'s marker ``name`` (``unrecorded`` when it holds none), or None
    when there is no such marker."""
    marker = folder / name
    if not marker.exists():
        return None
    try:
        reason = json.loads(marker.read_text(encoding="utf-8")).get("reason")
    except (OSError, ValueError, AttributeError):
        reason = None
    return str(reason) if reason else unrecorded


def quarantine(folder: Path, reason: str) -> None:
    """Mark ``folder`` as not to be served, with the reason."""
    mark(folder, QUARANTINE, reason)


def quarantine_reason(folder: Path) -> str | None:
    """Why ``folder`` is quarantined, or None when it is not."""
    return marker_reason(folder, QUARANTINE, "quarantined (no reason recorded)")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
