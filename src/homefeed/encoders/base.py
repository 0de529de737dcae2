"""The text-encoder protocol and how an item becomes text."""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from homefeed.domain import Item

DEFAULT_TEMPLATE = "{title}. {category}. {tags}. {text}"
PART_MARK = "||"  # in a template: the fields before and after it are embedded apart
PART_SEPARATOR = f" {PART_MARK} "
IMAGE_MARK = "\x1f"  # before an item's picture reference (item text never holds control characters)
IMAGE_FIELD = IMAGE_MARK + "{image}"  # what a template ends with when pictures are embedded
ProgressCallback = Callable[[int, int], None]


class TextEncoder(Protocol):
    """Turns texts into L2-normalised float32 vectors [n, dimension]."""

    model_id: str
    dimension: int

    def encode(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray: ...


def item_text(item: Item, template: str = DEFAULT_TEMPLATE) -> str:
    """Fill ``template`` with the item's fields; empty fields leave no dangling punctuation. A
    template of several parts (``"{title}. {tags} || {attr_plot}"``) keeps them apart, joined
    by ``PART_SEPARATOR``, for an encoder that embeds each on its own (:mod:`.parts`)."""
    fields = {
        "id": item.id,
        "title": item.title,
        "text": item.text,
        "category": item.category or "",
        "tags": ", ".join(item.tags),
        "creator": item.creator or "",
        "image": item.image or "",
        **{f"attr_{key}": value for key, value in item.attributes.items()},
    }
    words, mark, picture = template.partition(IMAGE_MARK)
    filled = PART_SEPARATOR.join(_filled(part, fields) for part in words.split(PART_MARK))
    return filled + (mark + picture.format_map(fields) if mark else "")


def _filled(template: str, fields: dict[str, object]) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    missing = names - fields.keys()
    text = template.format_map({**fields, **dict.fromkeys(missing, "")})
    parts = [part.strip() for part in text.split(". ")]
    return ". ".join(part for part in parts if part and part != ".").strip()


def template_parts(template: str) -> int:
    """How many parts a template's items are embedded in (1: one text)."""
    return template.count(PART_MARK) + 1
