"""Item details from a side file: richer text (a plot, the cast, a director) or any other
attribute, keyed by item id, merged into the items of a data folder.

A details file is CSV or TSV (by its suffix) with a header row that has an ``item_id``
column; cells may be quoted with ``"`` (a doubled quote inside). Every other column becomes an
item attribute of that name, which item text templates read as ``{attr_<column>}``, except
``image``, the item's picture. An empty cell or ``N/A`` adds nothing; a detail never replaces
what the item already has.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from homefeed.datasets.records import Record
from homefeed.domain import image_reference
from homefeed.errors import InvalidInputError, RowError

MISSING = frozenset({"", "N/A", "n/a", "NA"})
ID_COLUMN = "item_id"
IMAGE_COLUMN = "image"  # sets the item's picture, where it has none


@dataclass(frozen=True)
class ItemDetails:
    """The rows of one details file: item id -> (line, attributes)."""

    path: Path
    rows: Mapping[str, tuple[int, dict[str, str]]]

    @classmethod
    def read(cls, path: Path) -> ItemDetails:
        if not path.is_file():
            raise InvalidInputError(f"{path}: no such item details file", field="item_details")
        delimiter = "\t" if path.suffix.lower() in {".tsv", ".tab"} else ","
        rows: dict[str, tuple[int, dict[str, str]]] = {}
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter, quotechar='"')
            if reader.fieldnames is None or ID_COLUMN not in reader.fieldnames:
                raise RowError(str(path), 1, ID_COLUMN, f"the header needs an {ID_COLUMN!r} column")
            for row in reader:
                line = reader.line_num
                if None in row:  # more cells than the header names
                    named = len(reader.fieldnames)
                    raise RowError(str(path), line, f"cell {named + 1}", f"more cells than the {named} named")
                item_id = (row.pop(ID_COLUMN) or "").strip()
                if not item_id:
                    raise RowError(str(path), line, ID_COLUMN, "empty item id")
                if item_id in rows:
                    raise RowError(
                        str(path),
                        line,
                        ID_COLUMN,
                        f"item {item_id!r} already has details on line {rows[item_id][0]}",
                    )
                found = {
                    column: cell.strip()
                    for column, cell in row.items()
                    if (cell or "").strip() not in MISSING
                }
                rows[item_id] = (line, found)
        return cls(path, rows)

    def merged(self, items: Iterator[Record]) -> Iterator[Record]:
        """``items`` with each one's details added to its attributes; after the last item, an
        error names the first details row whose item was not among them (a wrong file)."""
        matched: set[str] = set()
        for record in items:
            item_id = str(record.values.get("id", ""))
            found = self.rows.get(item_id)
            if found is None:
                yield record
                continue
            matched.add(item_id)
            attributes = dict(record.values.get("attributes") or {})
            details = dict(found[1])
            image = details.pop(IMAGE_COLUMN, None) if not record.values.get("image") else None
            if image is not None:
                try:
                    image = image_reference(image)
                except ValueError as error:
                    raise RowError(str(self.path), found[0], IMAGE_COLUMN, str(error)) from None
            for column, cell in details.items():
                attributes.setdefault(column, cell)
            values = {**record.values, "attributes": attributes, **({"image": image} if image else {})}
            columns = {**record.columns, **({"image": IMAGE_COLUMN} if image else {})}
            yield Record(record.source, record.line, values, columns)
        unmatched = [(line, item_id) for item_id, (line, _) in self.rows.items() if item_id not in matched]
        if unmatched:
            line, item_id = min(unmatched)
            raise RowError(
                str(self.path),
                line,
                ID_COLUMN,
                f"item {item_id!r} is not among the data's items "
                f"({len(unmatched)} of the file's rows match none)",
            )
