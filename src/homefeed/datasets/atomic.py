"""RecBole's atomic files (``NAME.inter``, ``NAME.item``, ``NAME.user``) as import records,
for any data set in that layout: MovieLens, music, books, shops.

A header cell is ``name:type`` (``token``, ``token_seq``, ``float``, ``float_seq``); fields
are separated by tabs and never quoted, so a cell is taken exactly as written (quotes
included). Columns are found by their common names (an item's title is ``movie_title``,
``title``, ``name``, ``artist_name``, ``book_title``, ...) or named with a mapping
(``--map title=track``); an error names the file's own column. Interactions become events:
``rating`` with the rating as value when the file has ratings, else ``click`` with the
strength (play count, weight, duration) as value; a file without times gets one time for all
its rows (the import's), so no order is invented.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from homefeed.datasets.records import Record
from homefeed.errors import RowError

TITLE = (
    "title",
    "movie_title",
    "name",
    "item_name",
    "product_name",
    "book_title",
    "track_name",
    "song_name",
    "artist_name",
)
GENRES = ("genres", "genre", "class", "categories", "category", "tags")
YEAR = ("release_year", "year", "publication_year", "year_of_publication")
TEXT = ("text", "description", "plot", "summary", "overview")
IMAGE = (
    "image",
    "image_url",
    "img_url",
    "poster",
    "poster_url",
    "thumbnail",
    "cover",
    "cover_url",
    "picture",
)
RATING = ("rating", "stars", "score")
STRENGTH = ("value", "play_count", "count", "plays", "weight", "duration", "watch_time")
TIME = ("timestamp", "time", "ts", "datetime")
USER_FIELDS = {"age": ("age",), "gender": ("gender", "sex"), "occupation": ("occupation", "job")}
LOCATION = ("location", "zip_code", "country", "city")


class AtomicFile:
    """One atomic file's header (types dropped, mapping applied) and its rows."""

    def __init__(self, path: Path, mapping: Mapping[str, str]) -> None:
        self.path = path
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            header = handle.readline().rstrip("\r\n").split("\t")
        self.source = [cell.split(":")[0] for cell in header]  # the file's own names
        self.types = {name: cell.partition(":")[2] for name, cell in zip(self.source, header, strict=True)}
        self.names = [mapping.get(name, name) for name in self.source]
        self.columns = dict(zip(self.names, self.source, strict=True))  # field -> file column

    def first(self, candidates: Sequence[str]) -> str | None:
        """The first of ``candidates`` (field names) the file has."""
        return next((name for name in candidates if name in self.columns), None)

    def split(self, name: str, cell: str) -> list[str]:
        """A sequence cell's parts: space-separated for ``token_seq``, else ``|`` or ``,``."""
        if self.types.get(self.columns.get(name, name)) == "token_seq":
            return cell.split()
        separator = "|" if "|" in cell else ","
        return [part.strip() for part in cell.split(separator) if part.strip()]

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        with self.path.open("r", encoding="utf-8-sig", newline="") as handle:
            handle.readline()
            for number, line in enumerate(handle, start=2):
                if not line.strip():
                    continue
                parts = line.rstrip("\r\n").split("\t")
                if len(parts) != len(self.names):
                    raise RowError(
                        str(self.path), number, "*", f"expected {len(self.names)} tab-separated fields"
                    )
                yield number, dict(zip(self.names, parts, strict=True))

    def missing(self, what: str, candidates: Sequence[str]) -> RowError:
        return RowError(
            str(self.path),
            1,
            "*",
            f"no {what} column: expected one of {', '.join(candidates)} "
            f"(name yours with --map {candidates[0]}=COLUMN)",
        )


def atomic_items(path: Path, mapping: Mapping[str, str]) -> Iterator[Record]:
    if not path.exists():
        return
    found = AtomicFile(path, mapping)
    title, genres, year_column = found.first(TITLE), found.first(GENRES), found.first(YEAR)
    text_column, image = found.first(TEXT), found.first(IMAGE)
    if title is None:
        raise found.missing("title", TITLE)
    used = {"item_id", title, genres, year_column, text_column, image}
    columns = {"id": found.columns.get("item_id", "item_id"), "title": found.columns[title]}
    if image is not None:
        columns["image"] = found.columns[image]
    for number, row in found.rows():
        year_text = row.get(year_column, "") if year_column else ""
        year = int(year_text) if year_text.isdigit() and 0 < int(year_text) < 10_000 else None
        tags = found.split(genres, row.get(genres, "")) if genres else []
        tags = [tag for tag in tags if tag not in {"unknown", "(no genres listed)"}]
        name = row[title]
        details = row.get(text_column, "") if text_column else ""
        values = {
            "id": row.get("item_id", ""),
            "title": name,
            "text": f"{name}{'' if year is None or str(year) in name else f' ({year})'}. "
            f"Genres: {', '.join(tags) or 'unknown'}." + (f" {details}" if details else ""),
            "category": tags[0] if tags else None,
            "tags": tags,
            "attributes": {
                "year": year,
                "genres": tags,
                **{key: value for key, value in row.items() if key not in used and value != ""},
            },
            "published_at": datetime(year, 1, 1, tzinfo=UTC).timestamp() if year is not None else None,
            "image": row.get(image) or None if image else None,
        }
        yield Record(str(path), number, values, columns)


def atomic_users(path: Path, mapping: Mapping[str, str]) -> Iterator[Record]:
    if not path.exists():
        return
    found = AtomicFile(path, mapping)
    chosen = {field: found.first(names) for field, names in USER_FIELDS.items()}
    location = found.first(LOCATION)
    used = {"user_id", location, *chosen.values()}
    columns = {"id": found.columns.get("user_id", "user_id")}
    columns |= {field: found.columns[name] for field, name in chosen.items() if name is not None}
    if location is not None:
        columns["location"] = found.columns[location]
    for number, row in found.rows():
        values: dict[str, Any] = {"id": row.get("user_id")}
        for field, name in chosen.items():
            values[field] = (row.get(name) or None) if name is not None else None
        values["location"] = (row.get(location) or None) if location is not None else None
        extra = {key: value for key, value in row.items() if key not in used and value != ""}
        if extra:
            values["attributes"] = extra
        yield Record(str(path), number, values, columns)


def atomic_events(path: Path, mapping: Mapping[str, str]) -> Iterator[Record]:
    found = AtomicFile(path, mapping)
    rating, strength, moment = found.first(RATING), found.first(STRENGTH), found.first(TIME)
    value = rating or strength
    columns = {
        "user_id": found.columns.get("user_id", "user_id"),
        "item_id": found.columns.get("item_id", "item_id"),
    }
    if value is not None:
        columns["value"] = found.columns[value]
    if moment is not None:
        columns["timestamp"] = found.columns[moment]
    kind, stem = ("rating" if rating is not None else "click"), path.stem
    imported_at = time.time()
    for number, row in found.rows():
        user_id, item_id = row.get("user_id", ""), row.get("item_id", "")
        when = row.get(moment, "") if moment is not None else ""
        values = {
            "event_id": f"{stem}:{user_id}:{item_id}" + (f":{when}" if when else ""),
            "user_id": user_id,
            "item_id": item_id,
            "type": kind,
            "value": (row.get(value) or None) if value is not None else None,
            "timestamp": when or imported_at,
        }
        yield Record(str(path), number, values, columns)
