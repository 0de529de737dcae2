"""The text-encoder protocol and how an item becomes text."""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from homefeed.domain import Item

DEFAULT_TEMPLATE = "{title}. {category}. {tags}. {text}"
ProgressCallback = Callable[[int, int], None]


class TextEncoder(Protocol):
    """Turns texts into L2-normalised float32 vectors [n, dimension]."""

    model_id: str
    dimension: int

    def encode(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray: ...


def item_text(item: Item, template: str = DEFAULT_TEMPLATE) -> str:
    """Fill ``template`` with the item's fields; empty fields leave no dangling punctuation."""
    fields = {
        "id": item.id,
        "title": item.title,
        "text": item.text,
        "category": item.category or "",
        "tags": ", ".join(item.tags),
        "creator": item.creator or "",
        **{f"attr_{key}": value for key, value in item.attributes.items()},
    }
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    missing = names - fields.keys()
    text = template.format_map({**fields, **dict.fromkeys(missing, "")})
    parts = [part.strip() for part in text.split(". ")]
    return ". ".join(part for part in parts if part and part != ".").strip()
