"""MovieLens layouts (100K, 1M, latest / latest-small) as import records (its atomic
files are read by :mod:`homefeed.datasets.atomic`).

Every rating becomes an event of type ``rating`` with the stars as its value and the
id ``ml:{user}:{movie}``, so importing the same folder twice stores each rating once.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from homefeed.datasets.records import Record
from homefeed.errors import InvalidInputError, RowError

ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
ML1M_OCCUPATIONS = (
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
)
_RATING_COLUMNS = {"user_id": "user id", "item_id": "item id", "value": "rating"}
_YEAR_IN_TITLE = re.compile(r"\((\d{4})\)\s*$")


@dataclass
class DatasetRecords:
    """The three record streams of one data folder, and the layout that was recognised."""

    layout: str
    items: Iterator[Record]
    users: Iterator[Record]
    events: Iterator[Record]


def detect_movielens(folder: Path) -> str | None:
    """The MovieLens layout of ``folder``, or None when it is not one."""
    if (folder / "u.data").exists():
        return "movielens-100k"
    if (folder / "ratings.dat").exists():
        return "movielens-1m"
    if (folder / "ratings.csv").exists() and (folder / "movies.csv").exists():
        return "movielens-latest"
    return None


def movielens_records(folder: Path) -> DatasetRecords:
    layout = detect_movielens(folder)
    if layout == "movielens-100k":
        return DatasetRecords(
            layout,
            _ml100k_items(folder / "u.item", _ml100k_genres(folder / "u.genre")),
            _ml100k_users(folder / "u.user"),
            _rating_events(folder / "u.data", "\t", "latin-1"),
        )
    if layout == "movielens-1m":
        return DatasetRecords(
            layout,
            _ml1m_items(folder / "movies.dat"),
            _ml1m_users(folder / "users.dat"),
            _rating_events(folder / "ratings.dat", "::", "latin-1"),
        )
    if layout == "movielens-latest":
        return DatasetRecords(
            layout,
            _latest_items(folder / "movies.csv"),
            iter(()),
            _latest_events(folder / "ratings.csv"),
        )
    raise InvalidInputError(
        f"{folder} is not a MovieLens folder: expected u.data (100K), ratings.dat (1M), "
        "ratings.csv + movies.csv (latest)",
        field="path",
    )


def _lines(path: Path, encoding: str, skip_header: bool = False) -> Iterator[tuple[int, str]]:
    if not path.exists():
        return
    with path.open("r", encoding=encoding, newline="") as handle:
        for number, line in enumerate(handle, start=1):
            if (skip_header and number == 1) or not line.strip():
                continue
            yield number, line.rstrip("\r\n")


def _fields(path: Path, number: int, line: str, separator: str, minimum: int) -> list[str]:
    parts = line.split(separator)
    if len(parts) < minimum:
        raise RowError(str(path), number, "*", f"expected {minimum} fields separated by {separator!r}")
    return parts


def _movie(item_id: str, title: str, genres: list[str], year: int | None, **extra: Any) -> dict[str, Any]:
    genres = [genre for genre in genres if genre and genre not in {"unknown", "(no genres listed)"}]
    published = extra.pop("published_at", None)
    if published is None and year is not None:
        published = datetime(year, 1, 1, tzinfo=UTC).timestamp()
    return {
        "id": item_id,
        "title": title,
        "text": f"{title}{'' if year is None or str(year) in title else f' ({year})'}. "
        f"Genres: {', '.join(genres) or 'unknown'}.",
        "category": genres[0] if genres else None,
        "tags": genres,
        "attributes": {"year": year, "genres": genres, **extra},
        "published_at": published,
    }


def _year(title: str) -> int | None:
    match = _YEAR_IN_TITLE.search(title)
    return int(match.group(1)) if match else None


def _ml100k_genres(path: Path) -> tuple[str, ...]:
    names = [line.split("|")[0] for _, line in _lines(path, "latin-1")]
    return tuple(names) if names else ML100K_GENRES


def _ml100k_items(path: Path, genres: tuple[str, ...]) -> Iterator[Record]:
    for number, line in _lines(path, "latin-1"):
        parts = _fields(path, number, line, "|", 5 + len(genres))
        flags = parts[5 : 5 + len(genres)]
        chosen = [name for name, flag in zip(genres, flags, strict=True) if flag == "1"]
        published = None
        if parts[2]:
            try:
                published = datetime.strptime(parts[2], "%d-%b-%Y").replace(tzinfo=UTC).timestamp()
            except ValueError:
                raise RowError(
                    str(path), number, "release date", "expected a date like 01-Jan-1995"
                ) from None
        values = _movie(parts[0], parts[1], chosen, _year(parts[1]), published_at=published)
        if parts[4]:
            values["attributes"]["url"] = parts[4]
        yield Record(str(path), number, values)


def _ml100k_users(path: Path) -> Iterator[Record]:
    for number, line in _lines(path, "latin-1"):
        user_id, age, gender, occupation, zip_code = _fields(path, number, line, "|", 5)[:5]
        values = {
            "id": user_id,
            "age": age,
            "gender": gender,
            "occupation": occupation,
            "location": zip_code,
        }
        yield Record(str(path), number, values)


def _rating_events(path: Path, separator: str, encoding: str) -> Iterator[Record]:
    for number, line in _lines(path, encoding):
        user_id, item_id, rating, timestamp = _fields(path, number, line, separator, 4)[:4]
        yield Record(str(path), number, _rating(user_id, item_id, rating, timestamp), _RATING_COLUMNS)


def _rating(user_id: str, item_id: str, rating: str, timestamp: str) -> dict[str, Any]:
    return {
        "event_id": f"ml:{user_id}:{item_id}",
        "user_id": user_id,
        "item_id": item_id,
        "type": "rating",
        "value": rating,
        "timestamp": timestamp,
    }


def _ml1m_items(path: Path) -> Iterator[Record]:
    for number, line in _lines(path, "latin-1"):
        item_id, title, genres = _fields(path, number, line, "::", 3)[:3]
        yield Record(str(path), number, _movie(item_id, title, genres.split("|"), _year(title)))


def _ml1m_users(path: Path) -> Iterator[Record]:
    for number, line in _lines(path, "latin-1"):
        user_id, gender, age, occupation, zip_code = _fields(path, number, line, "::", 5)[:5]
        if not occupation.isdigit() or int(occupation) >= len(ML1M_OCCUPATIONS):
            raise RowError(str(path), number, "Occupation", "expected an occupation code 0-20")
        values = {
            "id": user_id,
            "gender": gender,
            "age": age,
            "occupation": ML1M_OCCUPATIONS[int(occupation)],
            "location": zip_code,
            "attributes": {"age_bucket": age},
        }
        yield Record(str(path), number, values)


def _csv_rows(path: Path, delimiter: str = ",") -> Iterator[tuple[int, dict[str, str]]]:
    with path.open("r", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        for row in reader:
            yield reader.line_num, row


def _latest_items(path: Path) -> Iterator[Record]:
    for number, row in _csv_rows(path):
        title = row.get("title") or ""
        genres = (row.get("genres") or "").split("|")
        yield Record(str(path), number, _movie(row.get("movieId") or "", title, genres, _year(title)))


def _latest_events(path: Path) -> Iterator[Record]:
    for number, row in _csv_rows(path):
        values = _rating(
            row.get("userId") or "",
            row.get("movieId") or "",
            row.get("rating") or "",
            row.get("timestamp") or "",
        )
        yield Record(
            str(path),
            number,
            values,
            {"user_id": "userId", "item_id": "movieId", "value": "rating"},
        )
