"""Recognise a data folder: a MovieLens layout or homefeed's own items/users/events files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from homefeed.datasets.movielens import DatasetRecords, detect_movielens, movielens_records
from homefeed.datasets.records import Record, read_records
from homefeed.errors import InvalidInputError

SUFFIXES = (".jsonl", ".ndjson", ".csv", ".tsv")


def _find(folder: Path, stem: str) -> Path | None:
    for suffix in SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    return None


def _stream(path: Path | None) -> Iterator[Record]:
    return read_records(path) if path is not None else iter(())


def folder_records(folder: Path) -> DatasetRecords:
    """Records of every file in ``folder``, whichever supported layout it uses."""
    if not folder.is_dir():
        raise InvalidInputError(f"{folder} is not a folder", field="path")
    if detect_movielens(folder) is not None:
        return movielens_records(folder)
    found = {stem: _find(folder, stem) for stem in ("items", "users", "events")}
    if not any(found.values()):
        raise InvalidInputError(
            f"{folder} holds no data homefeed recognises: expected items/users/events "
            f"files ({', '.join(SUFFIXES)}) or a MovieLens layout",
            field="path",
        )
    return DatasetRecords(
        "homefeed", _stream(found["items"]), _stream(found["users"]), _stream(found["events"])
    )
