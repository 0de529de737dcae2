"""Embed items once: vectors are cached by (model id, sha256 of the item text)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from homefeed.domain import Item
from homefeed.encoders.base import DEFAULT_TEMPLATE, ProgressCallback, TextEncoder, item_text
from homefeed.store import Store


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_items(
    items: Sequence[Item],
    encoder: TextEncoder,
    store: Store | None = None,
    template: str = DEFAULT_TEMPLATE,
    on_progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Vectors [len(items), dimension] in item order; only new or changed texts are encoded."""
    texts = [item_text(item, template) for item in items]
    hashes = [text_hash(text) for text in texts]
    cached = store.cached_embeddings(encoder.model_id, hashes) if store is not None else {}
    todo = sorted({h: t for h, t in zip(hashes, texts, strict=True) if h not in cached}.items())
    if todo:
        fresh = encoder.encode([text for _, text in todo], on_progress)
        computed = {
            h: vector.astype(np.float32).tobytes() for (h, _), vector in zip(todo, fresh, strict=True)
        }
        if store is not None:
            store.cache_embeddings(encoder.model_id, computed, encoder.dimension)
        cached = {**cached, **computed}
    if not items:
        return np.zeros((0, encoder.dimension), dtype=np.float32)
    return np.vstack([np.frombuffer(cached[h], dtype=np.float32) for h in hashes])
