"""Collaborative filtering by implicit's alternating least squares, with fold-in for fresh history."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from homefeed.domain import ItemFields, UserProfile
from homefeed.models.base import Recommender
from homefeed.models.data import Interactions, blanked_rows
from homefeed.threads import thread_limit
from homefeed.understanding.item_features import ItemFeatureSpace
from homefeed.understanding.item_map import ItemVectorMap


class AlsRecommender(Recommender):
    """Matrix factorisation of the weighted interaction matrix (Hu, Koren and Volinsky, 2008).

    At request time a user's factors are recomputed from their current history by one
    least-squares step against the fixed item factors (fold-in), so an event sent a
    moment ago already shapes the next recommendation, and users who arrived after
    training are served too.
    """

    name = "als"
    config_keys: ClassVar[tuple[str, ...]] = ("factors", "regularization", "alpha", "iterations", "seed")
    scores_by_vectors = True

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 1.0,
        iterations: int = 15,
        seed: int = 42,
        threads: int = 0,
    ) -> None:
        super().__init__()
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed
        self.threads = threads
        self.user_factors = np.zeros((0, factors), dtype=np.float32)
        self.item_factors = np.zeros((0, factors), dtype=np.float32)
        self._gram: np.ndarray | None = None

    def _fit(self, data: Interactions) -> None:
        # implicit parallelises itself; nested BLAS threads would slow it down.
        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="OpenBLAS is configured", category=RuntimeWarning)
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.seed,
                num_threads=self.threads or thread_limit(),
            )
            model.fit(data.matrix(), show_progress=False)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        self._gram = None

    def score_users(self, users: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.user_factors[users] @ self.item_factors.T
        return scores

    def fold_in(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """User factors that best explain ``items`` with confidence 1 + alpha * weight."""
        if self._gram is None:
            self._gram = (self.item_factors.T @ self.item_factors).astype(np.float64)
        keep = weights > 0
        items, weights = items[keep], weights[keep]
        if len(items) == 0:
            return np.zeros(self.factors, dtype=np.float32)
        vectors = self.item_factors[items].astype(np.float64)
        confidence = 1.0 + self.alpha * weights.astype(np.float64)
        lhs = self._gram + (vectors.T * (confidence - 1.0)) @ vectors
        lhs += self.regularization * np.eye(self.factors)
        rhs = vectors.T @ confidence
        return np.linalg.solve(lhs, rhs).astype(np.float32)

    def user_vector(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Folded-in user factors: scores are their inner products with ``item_vectors()``."""
        return self.fold_in(items, weights)

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.item_factors @ self.fold_in(items, weights)
        return scores

    def score_new_users_at(
        self,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        items: np.ndarray,
    ) -> np.ndarray:
        """Each history folded in, multiplied with ``items``' factors alone."""
        users = [self.fold_in(history, np.ones(len(history), dtype=np.float32)) for history in histories]
        scores: np.ndarray = np.vstack(users) @ self.item_factors[items].T
        return scores

    def item_vectors(self) -> np.ndarray:
        return self.item_factors

    def _keep_users(self, keep: np.ndarray) -> None:
        self.user_factors = self.user_factors[keep]

    def _blank_items(self, indices: np.ndarray) -> None:
        self.item_factors = blanked_rows(self.item_factors, indices)
        self._gram = None

    def _user_record(self, index: int) -> dict[str, Any]:
        return {"factors": self.user_factors[index].tolist()}

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors = arrays["user_factors"]
        self.item_factors = arrays["item_factors"]
        self._gram = None


class TextMappedAlsRecommender(AlsRecommender):
    """ALS whose items without interactions get factors mapped from their text and metadata.

    A ridge regression from item features (text embedding, tag indicators, publish-time steps:
    :class:`ItemVectorMap`) to ALS item factors is fitted on the warm items, so a cold item
    is scored like a warm one, by the user's factors (the cold-start hybrid). Items added later
    are mapped the same way (``map_items``), without retraining.
    """

    name = "als-text"
    config_keys = (*AlsRecommender.config_keys, "text_regularization", "metadata_weight")

    def __init__(
        self, text_regularization: float = 10.0, metadata_weight: float = 0.5, **options: Any
    ) -> None:
        super().__init__(**options)
        self.text_regularization = text_regularization
        self.metadata_weight = metadata_weight  # scale of the metadata columns; 0 = text only
        self.item_map = ItemVectorMap(np.zeros((0, self.factors), dtype=np.float32))

    @property
    def feature_space(self) -> ItemFeatureSpace | None:
        return self.item_map.feature_space

    @property
    def reads_item_text(self) -> bool:
        return True

    def _fit(self, data: Interactions) -> None:
        if data.item_text is None:
            raise ValueError("als-text needs item text embeddings (data.item_text)")
        super()._fit(data)
        warm = np.zeros(data.n_items, dtype=bool)
        warm[data.items] = True
        self.item_map = ItemVectorMap.fit(
            data.item_text,
            data.item_fields,
            self.item_factors,
            warm,
            self.text_regularization,
            self.metadata_weight,
        )
        mapped = self.item_map.map(data.item_text, data.item_fields)
        self.item_factors = np.where(warm[:, None], self.item_factors, mapped).astype(np.float32)

    def map_items(self, text: np.ndarray, fields: Sequence[ItemFields] | None = None) -> np.ndarray:
        """Item factors [n, factors] for items known by text embeddings [n, dimension] and fields."""
        return self.item_map.map(text, fields)

    def _meta(self) -> dict[str, Any]:
        return {"feature_space": self.item_map.to_dict()["feature_space"]}

    def _set_meta(self, meta: dict[str, Any]) -> None:
        stored = {"feature_space": meta.get("feature_space"), "metadata_weight": self.metadata_weight}
        self.item_map = ItemVectorMap.from_dict(stored, self.item_map.weights)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**super()._arrays(), "text_map": self.item_map.weights}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super()._set_arrays(arrays)
        self.item_map = ItemVectorMap(arrays["text_map"], self.item_map.feature_space, self.metadata_weight)
