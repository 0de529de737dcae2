"""Recognise a data folder: RecBole atomic files, a MovieLens layout, or homefeed's own
items/users/events files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from homefeed.datasets.atomic import atomic_events, atomic_items, atomic_users
from homefeed.datasets.details import ItemDetails
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


def _stream(path: Path | None, mapping: Mapping[str, str]) -> Iterator[Record]:
    return read_records(path, mapping) if path is not None else iter(())


def folder_records(
    folder: Path, mapping: Mapping[str, str] | None = None, item_details: Path | None = None
) -> DatasetRecords:
    """Records of every file in ``folder``, whichever supported layout it uses; ``mapping``
    (file column -> field) names columns the reader does not know (atomic and homefeed files);
    ``item_details``: a side file whose columns become item attributes (:mod:`.details`)."""
    if not folder.is_dir():
        raise InvalidInputError(f"{folder} is not a folder", field="path")
    records = _layout_records(folder, mapping or {})
    if item_details is not None:
        records.items = ItemDetails.read(item_details).merged(records.items)
    return records


def _layout_records(folder: Path, mapping: Mapping[str, str]) -> DatasetRecords:
    inter = next(iter(sorted(folder.glob("*.inter"))), None)
    if inter is not None:
        stem = inter.with_suffix("")
        return DatasetRecords(
            "atomic",
            atomic_items(stem.with_suffix(".item"), mapping),
            atomic_users(stem.with_suffix(".user"), mapping),
            atomic_events(inter, mapping),
        )
    if detect_movielens(folder) is not None:
        if mapping:
            raise InvalidInputError(
                "--map applies to atomic and homefeed files, not MovieLens' own", field="map"
            )
        return movielens_records(folder)
    found = {stem: _find(folder, stem) for stem in ("items", "users", "events")}
    if not any(found.values()):
        raise InvalidInputError(
            f"{folder} holds no data homefeed recognises: expected items/users/events "
            f"files ({', '.join(SUFFIXES)}), atomic files (*.inter) or a MovieLens layout",
            field="path",
        )
    return DatasetRecords(
        "homefeed",
        _stream(found["items"], mapping),
        _stream(found["users"], mapping),
        _stream(found["events"], mapping),
    )
