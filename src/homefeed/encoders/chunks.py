"""Long texts read whole: a text cut into windows of words, each window encoded, the text's
vector the mean of its windows' (renormalised).

A sentence-transformers model reads a fixed number of word pieces (all-MiniLM-L6-v2: 256, and
it was trained on 128) and drops the rest: a plot's last paragraphs, or a description's
details after a long preamble, never reach the vector. Chunking keeps them at the cost of one
encoder pass per window; ``text_chunk_words`` chooses it (0: truncate).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from homefeed.encoders.base import ProgressCallback, TextEncoder


def windows(text: str, words: int) -> list[str]:
    """``text`` in consecutive windows of at most ``words`` words (one window when it is short;
    an empty text stays one empty window)."""
    split = text.split()
    if len(split) <= words:
        return [text]
    return [" ".join(split[start : start + words]) for start in range(0, len(split), words)]


class ChunkedEncoder:
    """Any text encoder, reading texts longer than ``words`` words as the mean of their windows."""

    def __init__(self, inner: TextEncoder, words: int) -> None:
        if words < 8:
            raise ValueError(f"chunks of {words} words are too short to mean anything; use 8 or more")
        self.inner, self.words = inner, words
        self.model_id = f"{inner.model_id}+chunks-{words}"  # cached vectors apart from truncated ones
        self.dimension = inner.dimension

    def encode(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        pieces: list[str] = []
        owners: list[int] = []
        for index, text in enumerate(texts):
            found = windows(text, self.words)
            pieces.extend(found)
            owners.extend([index] * len(found))
        vectors = self.inner.encode(pieces, on_progress)
        sums = np.zeros((len(texts), self.dimension), dtype=np.float64)
        np.add.at(sums, np.array(owners, dtype=np.int64), vectors.astype(np.float64))
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        mean: np.ndarray = (sums / np.maximum(norms, 1e-12)).astype(np.float32)
        return mean
