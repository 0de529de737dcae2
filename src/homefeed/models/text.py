"""Zero-shot language-model recommendations: a user is the recency-weighted mean of the text
embeddings of what they liked; items are ranked by cosine similarity to it. No training on
behaviour, so it scores new items exactly like old ones (the cold-start floor for text)."""

from __future__ import annotations

from typing import Any

import numpy as np

from homefeed.models.base import Recommender
from homefeed.models.data import Interactions, blanked_rows, kept_sequences, pack_sequences, unpack_sequences


class TextRecommender(Recommender):
    """Nearest items by text to the user's recent history."""

    name = "text"
    scores_by_vectors = True
    config_keys = ("half_life",)
    prefers_history = True

    def __init__(self, half_life: float = 10.0) -> None:
        super().__init__()
        self.half_life = half_life  # in events: the 10th-latest counts half
        self.text = np.zeros((0, 0), dtype=np.float32)
        self.sequences: list[np.ndarray] = []

    @property
    def reads_item_text(self) -> bool:
        return True

    def _fit(self, data: Interactions) -> None:
        if data.item_text is None:
            raise ValueError("the text model needs item text embeddings (data.item_text)")
        norms = np.linalg.norm(data.item_text, axis=1, keepdims=True)
        self.text = (data.item_text / np.maximum(norms, 1e-12)).astype(np.float32)
        self.sequences = [items for items, _ in data.sequences()]

    def user_vector(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        keep = weights > 0
        items, weights = items[keep], weights[keep]
        if len(items) == 0:
            return np.zeros(self.text.shape[1], dtype=np.float32)
        ages = np.arange(len(items) - 1, -1, -1, dtype=np.float64)
        strength = weights * 0.5 ** (ages / self.half_life)
        vector: np.ndarray = (self.text[items] * strength[:, None]).sum(0).astype(np.float32)
        return vector

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.text @ self.user_vector(items, weights)
        return scores

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return self.score_histories([self.sequences[u] for u in users])

    def item_vectors(self) -> np.ndarray:
        return self.text

    def _keep_users(self, keep: np.ndarray) -> None:
        self.sequences = kept_sequences(self.sequences, keep)

    def _blank_items(self, indices: np.ndarray) -> None:
        self.text = blanked_rows(self.text, indices)

    def _user_record(self, index: int) -> dict[str, Any]:
        return {"sequence": self.item_id_list(self.sequences[index])}

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"text": self.text, **pack_sequences(self.sequences)}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.text = arrays["text"]
        self.sequences = unpack_sequences(arrays["sequence_lengths"], arrays["sequence_items"])
