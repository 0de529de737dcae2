"""Fit models on a split's training rows, rank for its test users, and measure everything.

Scores are masked before ranking: the user's known history and, where the protocol says
so, every item outside the candidate set get -inf. Ties are ordered by ascending item
index, which is ascending item id (numeric ids in numeric order).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from homefeed.evaluation import metrics as m
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.protocols import Split
from homefeed.models.base import Recommender, Validation, top_k
from homefeed.models.context import RequestContext

AGE_BUCKETS = ((0, 18, "<18"), (18, 25, "18-24"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 55, "45-54"))
GROUP_ORDER = [label for *_, label in AGE_BUCKETS] + ["55+", "new", "low", "medium", "high", "unknown"]


def _group_key(label: str) -> tuple[int, str]:
    return (GROUP_ORDER.index(label) if label in GROUP_ORDER else len(GROUP_ORDER) - 1, label)


ModelFactory = Callable[[], Recommender]
Progress = Callable[[str, int, int], None]


@dataclass
class ModelResult:
    """One model on one split."""

    model: str
    params: dict[str, Any]
    n_users: int
    fit_seconds: float
    score_seconds: float
    peak_mib: float
    metrics: dict[str, float]
    curves: dict[str, list[float]]
    groups: dict[str, dict[str, dict[str, float]]]
    popularity_deciles: list[float]
    notes: list[str] = field(default_factory=list)


def age_bucket(age: int | None) -> str:
    if age is None:
        return "unknown"
    for low, high, label in AGE_BUCKETS:
        if low <= age < high:
            return label
    return "55+"


class Evaluation:
    """The shared context of one split: item popularity, features and user groups."""

    def __init__(
        self, dataset: EvalDataset, split: Split, ks: Sequence[int], item_text: np.ndarray | None = None
    ) -> None:
        self.dataset = dataset
        self.item_text = item_text  # text embeddings in catalog order, for models that read text
        self.split = split
        self.ks = sorted(set(ks))
        self.catalog = split.catalog
        self.index = {item: i for i, item in enumerate(self.catalog)}
        n_items = len(self.catalog)
        users_per_item = np.zeros(n_items)
        fit_users: dict[str, int] = {}
        for row in split.fit_rows:
            users_per_item[self.index[row.item_id]] += 1
            fit_users[row.user_id] = fit_users.get(row.user_id, 0) + 1
        self.users_per_item = users_per_item
        self.n_fit_users = len(fit_users)
        self.percentiles = m.popularity_percentile(users_per_item)
        self.categories = [self._categories(item) for item in self.catalog]
        names = sorted({c for cats in self.categories for c in cats})
        column = {name: i for i, name in enumerate(names)}
        self.features = np.zeros((n_items, max(len(names), 1)))
        for position, cats in enumerate(self.categories):
            for name in cats:
                self.features[position, column[name]] = 1.0
        self.category_names = names
        self.allowed = np.ones(n_items, dtype=bool)
        if split.candidates is not None:
            self.allowed[:] = False
            self.allowed[[self.index[item] for item in split.candidates]] = True
        self.relevant = [{self.index[i] for i in case.relevant if i in self.index} for case in split.cases]
        self.groups = self._user_groups(fit_users)

    def _categories(self, item_id: str) -> list[str]:
        item = self.dataset.items[item_id]
        return list(item.tags) or ([item.category] if item.category else [])

    def _user_groups(self, fit_users: dict[str, int]) -> dict[str, list[str]]:
        cases = self.split.cases
        activity = np.array([fit_users.get(case.user_id, 0) for case in cases], dtype=float)
        low, high = np.quantile(activity, [1 / 3, 2 / 3]) if activity.any() else (0.0, 0.0)
        groups: dict[str, list[str]] = {"gender": [], "age": [], "activity": []}
        for case, count in zip(cases, activity, strict=True):
            user = self.dataset.users.get(case.user_id)
            groups["gender"].append(user.gender if user and user.gender else "unknown")
            groups["age"].append(age_bucket(user.age if user else None))
            groups["activity"].append(
                "new" if count == 0 else "low" if count <= low else "medium" if count <= high else "high"
            )
        return groups

    # -- ranking ----------------------------------------------------------
    def rank(self, model: Recommender, k: int, from_history: bool, batch: int = 256) -> np.ndarray:
        """Top-``k`` catalog indices for every test case (-1 where fewer items are rankable)."""
        if model.item_ids != self.catalog:
            raise ValueError("the model's item vocabulary differs from the split's catalog")
        cases = self.split.cases
        self.constant_rows = 0
        ranked = np.full((len(cases), k), -1, dtype=np.int64)
        from_history = from_history or model.prefers_history
        known = [] if from_history else [(row, model.user_index(c.user_id)) for row, c in enumerate(cases)]
        by_factors = [(row, index) for row, index in known if index is not None]
        by_history = sorted(set(range(len(cases))) - {row for row, _ in by_factors})
        for start in range(0, len(by_factors), batch):
            chunk = by_factors[start : start + batch]
            scores = np.array(model.score_users(np.array([i for _, i in chunk])), dtype=np.float64)
            for offset, (row, _) in enumerate(chunk):
                self._mask(scores[offset], cases[row].history)
            ranked[[row for row, _ in chunk]] = top_k(scores, k)[0]
        for start in range(0, len(by_history), batch):
            rows = by_history[start : start + batch]
            histories = [self._indices(cases[row].history) for row in rows]
            profiles = [self.dataset.users.get(cases[row].user_id) for row in rows]
            contexts = [RequestContext(time=cases[row].time) for row in rows]
            scores = np.array(model.score_new_users(histories, profiles, contexts), dtype=np.float64)
            for offset, row in enumerate(rows):
                self._mask(scores[offset], cases[row].history)
            ranked[rows] = top_k(scores, k)[0]
        return ranked

    def _indices(self, items: list[str]) -> np.ndarray:
        return np.array([self.index[i] for i in items if i in self.index], dtype=np.int64)

    def validation(self) -> Validation | None:
        """The split's validation rows as model input, for models that early-stop."""
        valid = self.split.valid
        if valid is None:
            return None
        return Validation(
            histories=[self._indices(case.history) for case in valid.cases],
            targets=[{self.index[i] for i in case.relevant if i in self.index} for case in valid.cases],
        )

    def _mask(self, scores: np.ndarray, history: list[str]) -> None:
        rankable = scores[self.allowed]
        if len(rankable) and np.all(rankable == rankable[0]):
            self.constant_rows += 1
        scores[~self.allowed] = -np.inf
        scores[[self.index[i] for i in history if i in self.index]] = -np.inf

    # -- measuring --------------------------------------------------------
    def measure(
        self, ranked: np.ndarray
    ) -> tuple[dict[str, float], dict[str, list[float]], dict[str, dict[str, dict[str, float]]]]:
        values: dict[str, float] = {}
        per_user: dict[str, np.ndarray] = {}
        n_candidates = int(self.allowed.sum())
        for k in self.ks:
            for name, column in m.ranking_metrics(ranked, self.relevant, k).items():
                per_user[f"{name}@{k}"] = column
                values[f"{name}@{k}"] = float(column.mean())
            top = ranked[:, :k]
            exposure = m.exposure(top, len(self.catalog))
            by_category = m.category_exposure(exposure, self.categories)
            values[f"coverage@{k}"] = m.coverage(top, n_candidates)
            values[f"novelty@{k}"] = float(np.nanmean(m.novelty(top, self.users_per_item, self.n_fit_users)))
            values[f"diversity@{k}"] = float(np.nanmean(m.intra_list_diversity(top, self.features)))
            values[f"popularity@{k}"] = float(np.nanmean(m.popularity_bias(top, self.percentiles)))
            values[f"gini_items@{k}"] = m.gini(exposure[self.allowed])
            values[f"gini_categories@{k}"] = m.gini(
                np.array([by_category.get(c, 0.0) for c in self.category_names])
            )
        curves: dict[str, list[float]] = {name: [] for name in ("ndcg", "recall")}
        for k in range(1, max(self.ks) + 1):
            at_k = m.ranking_metrics(ranked, self.relevant, k)
            for name in curves:
                curves[name].append(float(at_k[name].mean()))
        groups: dict[str, dict[str, dict[str, float]]] = {}
        for group, labels in self.groups.items():
            label_array = np.array(labels)
            groups[group] = {
                label: {"users": float((label_array == label).sum())}
                | {metric: float(column[label_array == label].mean()) for metric, column in per_user.items()}
                for label in sorted(set(labels), key=_group_key)
            }
        return values, curves, groups

    def popularity_deciles(self, ranked: np.ndarray, k: int) -> list[float]:
        """Share of recommendations falling in each catalog popularity decile (0 = least popular)."""
        shown = ranked[:, :k][ranked[:, :k] >= 0]
        if len(shown) == 0:
            return [0.0] * 10
        deciles = np.minimum((self.percentiles[shown] * 10).astype(int), 9)
        shares: list[float] = (np.bincount(deciles, minlength=10) / len(shown)).tolist()
        return shares

    def run(self, factory: ModelFactory, from_history: bool | None = None) -> ModelResult:
        """Fit a fresh model on the training rows only, then rank and measure."""
        model = factory()
        from_history = self.split.from_history if from_history is None else from_history
        tracemalloc.start()
        started = time.perf_counter()
        data = self.split.fit_data()
        data.item_text = self.item_text
        data.item_fields = [self.dataset.items[item] for item in data.item_ids]
        users = self.dataset.users
        data.profiles = {user: users[user] for user in data.user_ids if user in users}
        model.fit(data, self.validation())
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        ranked = self.rank(model, max(self.ks), from_history)
        score_seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        values, curves, groups = self.measure(ranked)
        notes = []
        if self.constant_rows == len(self.split.cases) and self.split.cases:
            notes.append(
                "gives every rankable item the same score (it cannot score these items): "
                "its ranking is item-id order"
            )
        return ModelResult(
            model=model.name,
            params=model.config(),
            n_users=len(self.split.cases),
            fit_seconds=fit_seconds,
            score_seconds=score_seconds,
            peak_mib=peak / 2**20,
            metrics=values,
            curves=curves,
            groups=groups,
            popularity_deciles=self.popularity_deciles(ranked, max(self.ks)),
            notes=notes,
        )
