"""Stream rows out of CSV and JSONL files as (line number, record) pairs.

A column mapping renames source columns to homefeed's field names, so a file with
``movie_title`` can feed ``title`` without being rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from homefeed.errors import InvalidInputError, RowError

JSON_FIELDS = frozenset({"attributes", "context"})


class Record:
    """One row, with enough provenance to name it in an error. A JSON line read as it is (no
    column renamed) keeps its ``text`` and is parsed only when its values are asked for, so a
    whole batch of lines can be parsed and validated in one pass (``importer.validate_records``)."""

    __slots__ = ("_values", "columns", "line", "source", "text")

    def __init__(
        self,
        source: str,
        line: int,
        values: dict[str, Any] | None = None,
        columns: dict[str, str] | None = None,
        *,
        text: str | None = None,
    ) -> None:
        if values is None and text is None:
            raise ValueError("a record needs its values or its JSON text")
        self.source = source
        self.line = line
        self._values = values
        self.columns = columns or {}  # field name -> source column name
        self.text = text

    @property
    def values(self) -> dict[str, Any]:
        if self._values is None:
            self._values = _json_object(str(self.text), self.source, self.line)
        return self._values

    def column_of(self, field_name: str) -> str:
        return self.columns.get(field_name, field_name)


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """Turn ``["title=movie_title", ...]`` into ``{"movie_title": "title"}`` (source -> field)."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise InvalidInputError(
                f"column mapping {pair!r} must look like FIELD=COLUMN, e.g. title=movie_title",
                field="map",
            )
        mapping[source.strip()] = target.strip()
    return mapping


def read_records(
    path: Path,
    mapping: Mapping[str, str] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[Record]:
    """Yield the records of a ``.csv``, ``.tsv``, ``.jsonl`` or ``.ndjson`` file, streaming."""
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        yield from _read_delimited(path, "\t" if suffix == ".tsv" else ",", mapping or {}, on_progress)
    elif suffix in {".jsonl", ".ndjson"}:
        yield from _read_jsonl(path, mapping or {}, on_progress)
    else:
        raise InvalidInputError(
            f"{path}: unsupported file type {suffix!r}; expected .csv, .tsv, .jsonl or .ndjson",
            field="path",
        )


def _rename(values: dict[str, Any], mapping: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The values under homefeed's field names, and each field's source column (none renamed:
    the values as they are, and no columns to name, since each is its field)."""
    if not mapping:
        return values, {}
    renamed: dict[str, Any] = {}
    columns: dict[str, str] = {}
    for key, value in values.items():
        target = mapping.get(key, key)
        renamed[target] = value
        columns[target] = key
    return renamed, columns


def _read_delimited(
    path: Path,
    delimiter: str,
    mapping: Mapping[str, str],
    on_progress: Callable[[int], None] | None,
) -> Iterator[Record]:
    with path.open("rb") as handle:
        rows = delimited_rows(_decoded_lines(handle, path, on_progress), delimiter)
        first = next(rows, None)
        if first is None:
            return
        header = first[1]
        width = len(header)
        for line, cells in rows:
            if len(cells) != width:
                problem = f"expected {width} columns, found {len(cells)}"
                if any("\n" in cell for cell in cells):
                    problem += " (a quoted cell here runs over several lines: is a quote left open?)"
                raise RowError(str(path), line, "*", problem)
            values: dict[str, Any] = {}
            for key, raw in zip(header, cells, strict=True):
                text = raw.strip()
                if text == "":
                    continue  # an empty cell means "not given"
                values[key] = text
            values, columns = _rename(values, mapping)
            for name in JSON_FIELDS & values.keys():
                try:
                    values[name] = json.loads(values[name])
                except json.JSONDecodeError as error:
                    raise RowError(
                        str(path), line, columns.get(name, name), f"expected a JSON object ({error.msg})"
                    ) from None
            yield Record(str(path), line, values, columns)


def delimited_rows(lines: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank row of CSV or TSV text.

    A cell is quoted only when the whole cell is in quotes (``"a, b"``), and then it may hold
    the delimiter, line breaks and doubled quotes (one quote each); any other quote is text,
    kept as written: ``"Weird Al" Yankovic`` stays so, where Python's csv reader drops them.
    """
    numbered = enumerate(lines, start=1)
    for number, text in numbered:
        line = text.rstrip("\r\n")
        if not line.strip():
            continue
        cells: list[str] = []
        at = 0
        while True:
            quoted = _quoted_cell(line, at, delimiter)
            while quoted is None and line.startswith('"', at) and _opens_multiline(line, at):
                following = next(numbered, None)  # a quoted cell with a line break in it
                if following is None:
                    break
                line += "\n" + following[1].rstrip("\r\n")
                quoted = _quoted_cell(line, at, delimiter)
            if quoted is not None:
                cell, at = quoted
            else:
                end = line.find(delimiter, at)
                cell, at = (line[at:], -1) if end < 0 else (line[at:end], end + 1)
            cells.append(cell)
            if at < 0:
                break
        yield number, cells


def _quoted_cell(line: str, at: int, delimiter: str) -> tuple[str, int] | None:
    """The cell starting at ``at`` when it is one whole quoted cell, and where the next cell
    starts (-1: the line ends); None when it is not."""
    if not line.startswith('"', at):
        return None
    parts: list[str] = []
    index = at + 1
    while True:
        close = line.find('"', index)
        if close < 0:
            return None
        parts.append(line[index:close])
        if line.startswith('"', close + 1):  # a doubled quote is one quote
            parts.append('"')
            index = close + 2
            continue
        after = close + 1
        if after == len(line):
            return "".join(parts), -1
        if line.startswith(delimiter, after):
            return "".join(parts), after + len(delimiter)
        return None  # text after the closing quote: not a quoted cell


def _opens_multiline(line: str, at: int) -> bool:
    """Whether the quote at ``at`` opens a cell the line does not close (an odd number of
    quotes from there to the end of the line)."""
    return line.count('"', at) % 2 == 1


def _decoded_lines(handle: BinaryIO, path: Path, on_progress: Callable[[int], None] | None) -> Iterator[str]:
    """UTF-8 lines of a binary file, reporting bytes read so far for a progress bar."""
    done = 0
    for number, raw in enumerate(handle, start=1):
        done += len(raw)
        if on_progress is not None and number % 1000 == 0:
            on_progress(done)
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise RowError(str(path), number, "*", f"not valid UTF-8 ({error.reason})") from None
    if on_progress is not None:
        on_progress(done)


def _read_jsonl(
    path: Path, mapping: Mapping[str, str], on_progress: Callable[[int], None] | None
) -> Iterator[Record]:
    with path.open("rb") as handle:
        for line_number, raw in enumerate(_decoded_lines(handle, path, on_progress), start=1):
            if not raw.strip():
                continue
            if not mapping:
                yield Record(str(path), line_number, text=raw)
                continue
            renamed, columns = _rename(_json_object(raw, str(path), line_number), mapping)
            yield Record(str(path), line_number, renamed, columns)


def _json_object(text: str, source: str, line: int) -> dict[str, Any]:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise RowError(source, line, "*", f"not valid JSON ({error})") from None
    if not isinstance(values, dict):
        raise RowError(source, line, "*", "expected a JSON object per line")
    return values
