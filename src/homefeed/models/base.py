"""The recommender interface, shaped after implicit's: fit, batched recommend, similar, save, load.

Models score over internal indices (fast, batched); the base class turns that into
external ids, excludes what the caller asks, and orders ties by ascending item index,
which :func:`natural_order` makes the same as ascending item id.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from homefeed.domain import UserProfile
from homefeed.models.context import RequestContext
from homefeed.models.data import Interactions

ScoredItems = list[tuple[str, float]]
ANCHOR_WINDOW = 20  # the latest liked items an explanation weighs (one rescoring each)
# what a deleted item's place in a vocabulary becomes: no client id holds a control character,
# so the placeholder never names a real item, and the indices of the others keep their meaning
FORGOTTEN_ITEM = "\x7fforgotten:"


@dataclass
class Validation:
    """Held-out next items for early stopping: per user the input history and the targets."""

    histories: list[np.ndarray]
    targets: list[set[int]]


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` best columns of each row, ties by ascending index.

    ``-inf`` marks excluded items; they are never returned, so a row may hold fewer
    than ``k`` (padded with -1 / -inf).
    """
    scores = np.atleast_2d(scores)
    n_rows, n_cols = scores.shape
    k = max(0, min(k, n_cols))
    indices = np.full((n_rows, k), -1, dtype=np.int64)
    values = np.full((n_rows, k), -np.inf, dtype=np.float64)
    if k == 0:
        return indices, values
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1]
    for row in range(n_rows):
        candidates = np.flatnonzero(scores[row] >= kth[row])
        candidates = candidates[np.isfinite(scores[row, candidates])]
        order = np.lexsort((candidates, -scores[row, candidates]))[:k]
        chosen = candidates[order]
        indices[row, : len(chosen)] = chosen
        values[row, : len(chosen)] = scores[row, chosen]
    return indices, values


@dataclass(frozen=True)
class UserQuery:
    """What a model is told about one user at request time: their history on the model's item
    indices (oldest first, with each event's weight; negative weights are negative feedback),
    and the profile and request context when the caller has them."""

    items: np.ndarray
    weights: np.ndarray
    profile: UserProfile | None = None
    context: RequestContext | None = None

    @property
    def liked(self) -> np.ndarray:
        """The positively weighted items, oldest first."""
        liked: np.ndarray = self.items[self.weights > 0]
        return liked


@dataclass(frozen=True)
class Retrieved:
    """A model's best allowed items for one user: item indices with their scores, best first;
    or, from a model that ranks candidates by features (a learning-to-rank model), every
    candidate it can rank, with ``scores`` None and the feature rows to score them by
    (:meth:`Recommender.score_features`), kept so an explanation can show them."""

    indices: np.ndarray
    scores: np.ndarray | None
    features: np.ndarray | None = None  # [len(indices), len(feature_names)]
    # the liked item behind each of some chosen items, read from this very retrieval (what
    # the page scored): None where the model's ``anchors`` answer
    anchors: Callable[[np.ndarray], np.ndarray] | None = None


HistoryScores = Callable[[Sequence[tuple[np.ndarray, np.ndarray]], np.ndarray], np.ndarray]


def left_out_anchors(
    liked: np.ndarray, weights: np.ndarray, chosen: np.ndarray, window: int, scores_of: HistoryScores
) -> np.ndarray:
    """For each of ``chosen``, the one of the latest ``window`` liked items whose removal from
    the history lowers its score the most (ties: the latest), or -1 where no removal lowers
    it; ``scores_of`` scores ``chosen`` [len(histories), len(chosen)] for (items, weights)
    histories, the whole history first."""
    found = np.full(len(chosen), -1, dtype=np.int64)
    if len(chosen) == 0 or len(liked) == 0:
        return found
    start = max(0, len(liked) - window)
    histories = [(liked, weights)] + [
        (np.delete(liked, position), np.delete(weights, position)) for position in range(start, len(liked))
    ]
    scores = scores_of(histories, chosen)
    drops = scores[0][None, :] - scores[1:]  # [removed, chosen]
    latest_first = drops[::-1]
    strongest = np.argmax(latest_first, axis=0)
    lowered = latest_first[strongest, np.arange(len(chosen))] > 1e-9 * (1 + np.abs(scores[0]))
    positions = len(liked) - 1 - strongest
    return np.where(lowered, liked[positions], -1).astype(np.int64)


def best(scores: np.ndarray, allowed: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``n`` best allowed items (ties by index; -inf never)."""
    masked = np.array(scores, dtype=np.float64)
    masked[~allowed] = -np.inf
    indices, values = top_k(masked[None, :], n)
    keep = indices[0] >= 0
    return indices[0][keep], values[0][keep]


class Recommender(ABC):
    """A trainable model that scores every catalog item for a user.

    The engine reaches every model through this class only: the required methods score users
    known at training and users described by a fresh history; the optional capabilities below
    have safe defaults, so a new model overrides only what it has.
    """

    name: ClassVar[str]
    # constructor options saved with the model (``config()``) and accepted by ``accepts``
    config_keys: ClassVar[tuple[str, ...]] = ()
    config_from: ClassVar[str | None] = None  # the attribute holding those options (None: the model)
    prefers_history: ClassVar[bool] = False  # score users from their current history, always
    reads_request: ClassVar[bool] = False  # score_new_users reads profiles and request contexts
    reads_interests: ClassVar[bool] = False  # trains on users' stated interests, embedded
    # scores are inner products of user_vector() with item_vectors(): a vector index retrieves
    scores_by_vectors: ClassVar[bool] = False
    # scores a user's own taste, so it may back the page's personal row (not popularity, chance)
    personal: ClassVar[bool] = True
    anchor_window: ClassVar[int] = ANCHOR_WINDOW  # the latest liked items an explanation weighs

    def __init__(self) -> None:
        self.user_ids: list[str] = []
        self.item_ids: list[str] = []
        self._user_index: dict[str, int] = {}
        self._item_index: dict[str, int] = {}
        self._unit_cache: tuple[object, np.ndarray] | None = None
        self._forgetting = threading.Lock()  # a worker may hear of one deletion twice at once
        self.on_progress: Callable[[str], None] | None = None  # told what training is doing

    # -- to implement -----------------------------------------------------
    @abstractmethod
    def _fit(self, data: Interactions) -> None: ...

    @abstractmethod
    def score_users(self, users: np.ndarray) -> np.ndarray:
        """Scores [len(users), n_items] for users known at training time (by index)."""

    @abstractmethod
    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Scores [n_items] for a user described only by a fresh history (item indices, weights)."""

    @abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]: ...

    @abstractmethod
    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None: ...

    # -- configuration ----------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The constructor options this model was made with (its ``config_keys``), as JSON values:
        saved with the model and enough to make it again."""
        holder = self if self.config_from is None else getattr(self, self.config_from)
        return {key: _jsonable(getattr(holder, key)) for key in self.config_keys}

    @classmethod
    def accepts(cls, option: str) -> bool:
        """Whether the constructor takes ``option`` (e.g. ``seed``, which a ranker passes on)."""
        return option in cls.config_keys

    # -- optional capabilities (safe defaults) ----------------------------
    @property
    def reads_item_text(self) -> bool:
        """Whether fitting needs the items' text embeddings (``Interactions.item_text``)."""
        return False

    def item_vectors(self) -> np.ndarray | None:
        """Item embeddings used for similar items, or None when the model has none."""
        return None

    def user_vector(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
        """The user's vector in ``item_vectors()``' space when ``scores_by_vectors`` (scores are
        its inner products with them); None for other models."""
        return None

    def score_user(self, user: UserQuery) -> np.ndarray:
        """Scores [n_items] for one user at request time: from the profile and context too when
        the model reads them, else from the history alone."""
        if self.reads_request:
            scores: np.ndarray = self.score_new_users([user.liked], [user.profile], [user.context])[0]
            return scores
        return self.score_history(user.items, user.weights)

    def retrieve(self, user: UserQuery, allowed: np.ndarray, n: int) -> Retrieved:
        """The ``n`` best ``allowed`` items for the user, best first: the page's candidates from
        this model. Models with no evidence for an item (no score) leave it out."""
        indices, values = best(self.score_user(user), allowed, n)
        return Retrieved(indices, values)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the feature columns ``retrieve`` returns for unscored candidates (none)."""
        return ()

    def score_features(self, features: np.ndarray) -> np.ndarray:
        """Scores of candidates ``retrieve`` returned unscored, from their feature rows; only a
        model that ranks by features has them."""
        raise NotImplementedError(f"{self.name} scores items directly, not from features")

    def anchors(
        self,
        liked: np.ndarray,
        chosen: np.ndarray,
        weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """For each of ``chosen``, the liked item that drove its score most ("because you liked
        X"), or -1 where none did: by default the one of the latest ``anchor_window`` liked
        items whose removal from the history lowers the item's score the most (ties: the
        latest), found by one batch of rescorings; ``weights`` are the liked items' event
        weights."""
        weights = np.ones(len(liked), dtype=np.float32) if weights is None else weights
        return left_out_anchors(liked, weights, chosen, self.anchor_window, self._scores_of)

    def _scores_of(
        self, histories: Sequence[tuple[np.ndarray, np.ndarray]], chosen: np.ndarray
    ) -> np.ndarray:
        """Scores [len(histories), len(chosen)] of ``chosen`` for users with these (items,
        weights) histories: by user vectors when the model scores by them, else in full."""
        vectors = self.item_vectors() if self.scores_by_vectors else None
        if vectors is not None:
            users = self.user_vectors(histories)
            found: np.ndarray = users.astype(np.float64) @ vectors[chosen].T.astype(np.float64)
            return found
        return np.vstack(
            [np.asarray(self.score_history(items, w), dtype=np.float64)[chosen] for items, w in histories]
        )

    def new_user_vectors(
        self, histories: Sequence[np.ndarray], profiles: Sequence[UserProfile | None]
    ) -> np.ndarray | None:
        """User vectors [len(histories), dimension] whose inner products with ``item_vectors()``
        are :meth:`score_new_users` of these histories and profiles, so a vector index can find
        their best items; None when the scores are not such inner products."""
        if not self.scores_by_vectors or self.reads_request:
            return None
        return self.user_vectors(
            [(history, np.ones(len(history), dtype=np.float32)) for history in histories]
        )

    def user_vectors(self, histories: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """:meth:`user_vector` of each (items, weights) history [len(histories), dimension]."""
        vectors = [self.user_vector(items, weights) for items, weights in histories]
        return np.vstack([vector for vector in vectors if vector is not None])

    def item_neighbours(self, index: int) -> np.ndarray | None:
        """[n_items]: how strongly each item goes with item ``index`` by the model's own item-to-
        item evidence (-inf: not at all); None when the model keeps no such evidence."""
        return None

    def profile_groups(self, profile: UserProfile | None) -> tuple[str, ...]:
        """The groups of ``profile`` (e.g. "gender=f") this model scores by: none, unless it
        reads profiles."""
        return ()

    def parts(self) -> Mapping[str, Recommender]:
        """Models this one is made of, by name (a ranker's sources); none by default."""
        return {}

    def adopt(self, data: Interactions, fitted: Mapping[str, Recommender]) -> None:
        """Models already fitted on ``data`` in this training run, by name: a model made of parts
        may take one (same class, same options) instead of fitting its own on ``data`` again;
        the others ignore them."""
        return None

    def set_inference(self, inference: str) -> None:
        """How request-time scoring runs where a model has a choice ("onnx" or "torch");
        models without one ignore it, models made of others pass it on."""
        for part in self.parts().values():
            part.set_inference(inference)

    def _keep_users(self, keep: np.ndarray) -> None:
        """Keep only the rows of users where ``keep`` is True in everything held per user
        (factor rows, histories, sequences); a model holding nothing per user has nothing to do.
        A test forgets a user from every registered model and finds no per-user array left
        with the old count of users."""
        return None

    def _blank_items(self, indices: np.ndarray) -> None:
        """Blank what the model holds per item for ``indices`` (factor and text rows,
        neighbour rows and columns), keeping the item indices of the others."""
        return None

    def _user_record(self, index: int) -> dict[str, Any]:
        """What the model holds about user ``index`` beyond their id, as JSON values (item ids,
        not indices): their factor row, history or sequence."""
        return {}

    def training_report(self) -> dict[str, Any]:
        """What fitting found worth keeping in the version's manifest (none by default)."""
        return {}

    # -- provided ---------------------------------------------------------
    def forget(self, users: Collection[str] = (), items: Collection[str] = ()) -> bool:
        """Scrub deleted ``users`` and ``items`` from the model and its parts: a user's id and
        every row held per user go; an item's id becomes a placeholder and its rows are blanked.
        What they left in aggregates (item factors, counts, network weights) goes with the next
        training, which never sees them. Returns whether anything changed."""
        with self._forgetting:
            return self._forget(users, items)

    def _forget(self, users: Collection[str], items: Collection[str]) -> bool:
        changed = False
        for part in self.parts().values():
            changed = part.forget(users, items) or changed
        gone = sorted(self._user_index[user] for user in set(users) if user in self._user_index)
        if gone:
            keep = np.ones(len(self.user_ids), dtype=bool)
            keep[gone] = False
            self._keep_users(keep)
            kept = [user for user, kept in zip(self.user_ids, keep, strict=True) if kept]
            self._set_vocabulary(kept, self.item_ids)
        blanked = sorted(self._item_index[item] for item in set(items) if item in self._item_index)
        if blanked:
            self._blank_items(np.array(blanked, dtype=np.int64))
            renamed = list(self.item_ids)
            for index in blanked:
                renamed[index] = f"{FORGOTTEN_ITEM}{index}"
            self._set_vocabulary(self.user_ids, renamed)
            self._unit_cache = None
        return changed or bool(gone) or bool(blanked)

    def held_about(self, user_id: str) -> dict[str, Any] | None:
        """Everything this model (and its parts) holds about ``user_id``, for the user's export;
        None when it holds nothing."""
        record: dict[str, Any] = {}
        index = self._user_index.get(user_id)
        if index is not None:
            record = {"known_as_training_user": True, **self._user_record(index)}
        parts = {name: found for name, part in self.parts().items() if (found := part.held_about(user_id))}
        if parts:
            record["parts"] = parts
        return record or None

    def item_id_list(self, indices: np.ndarray) -> list[str]:
        """Item ids of ``indices`` (for records a person reads)."""
        return [self.item_ids[int(index)] for index in indices]

    def fit(self, data: Interactions, validation: Validation | None = None) -> Self:
        """Train on ``data``; models that early-stop use ``validation`` when given."""
        self._set_vocabulary(data.user_ids, data.item_ids)
        self._fit_validated(data, validation)
        return self

    def _fit_validated(self, data: Interactions, validation: Validation | None) -> None:
        self._fit(data)

    def score_histories(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Scores [len(histories), n_items] for users described by item-index histories."""
        return np.vstack(
            [self.score_history(history, np.ones(len(history), dtype=np.float32)) for history in histories]
        )

    def score_new_users(
        self,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        contexts: Sequence[RequestContext | None] | None = None,
    ) -> np.ndarray:
        """Scores for users the model never saw, known by a history and maybe a profile and a
        request context; models that read them override this, the others score the history
        alone."""
        return self.score_histories(histories)

    def score_new_users_at(
        self,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        items: np.ndarray,
    ) -> np.ndarray:
        """:meth:`score_new_users` [len(histories), len(items)] of ``items`` only: what a ranker
        reads of a large catalog when it rescores a few items. By default every item is scored;
        models that can score a few items for less override this."""
        return np.asarray(self.score_new_users(histories, profiles))[:, items]

    def _set_vocabulary(self, user_ids: list[str], item_ids: list[str]) -> None:
        self.user_ids, self.item_ids = list(user_ids), list(item_ids)
        self._user_index = {uid: i for i, uid in enumerate(self.user_ids)}
        self._item_index = {iid: i for i, iid in enumerate(self.item_ids)}

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def user_index(self, user_id: str) -> int | None:
        return self._user_index.get(user_id)

    def item_index(self, item_id: str) -> int | None:
        return self._item_index.get(item_id)

    def recommend(
        self,
        user_ids: Sequence[str],
        n: int,
        exclude: Sequence[Collection[str]] | None = None,
    ) -> list[ScoredItems]:
        """Top ``n`` (item id, score) for each user; users unknown to the model get []."""
        known = [(row, self._user_index[u]) for row, u in enumerate(user_ids) if u in self._user_index]
        results: list[ScoredItems] = [[] for _ in user_ids]
        if not known:
            return results
        scores = self.score_users(np.array([index for _, index in known], dtype=np.int64))
        scores = np.array(scores, dtype=np.float64, copy=True)
        for position, (row, _) in enumerate(known):
            for item_id in exclude[row] if exclude is not None else ():
                column = self._item_index.get(item_id)
                if column is not None:
                    scores[position, column] = -np.inf
        indices, values = top_k(scores, n)
        for position, (row, _) in enumerate(known):
            results[row] = [
                (self.item_ids[i], float(v))
                for i, v in zip(indices[position], values[position], strict=True)
                if i >= 0
            ]
        return results

    def similar_items(self, item_id: str, n: int) -> ScoredItems:
        """Items closest to ``item_id`` by cosine of the model's item vectors."""
        index = self._item_index.get(item_id)
        unit = self._unit_item_vectors()
        if unit is None or index is None:
            return []
        scores = unit @ unit[index]
        scores[index] = -np.inf
        scores[~unit.any(axis=1)] = -np.inf  # items without a vector are never similar
        indices, values = top_k(scores[None, :], n)
        return [(self.item_ids[i], float(v)) for i, v in zip(indices[0], values[0], strict=True) if i >= 0]

    def _unit_item_vectors(self) -> np.ndarray | None:
        """Normalised item vectors, computed once per vector table (not once per request)."""
        vectors = self.item_vectors()
        if vectors is None:
            return None
        key = (vectors.__array_interface__["data"][0], vectors.shape)
        cached = self._unit_cache
        if cached is None or cached[0] != key:
            norms = np.linalg.norm(vectors, axis=1)
            norms[norms == 0] = 1.0
            cached = (key, vectors / norms[:, None])
            self._unit_cache = cached
        return cached[1]

    def save(self, directory: Path) -> None:
        """Arrays to ``arrays.npz``, vocabulary and config to JSON; never pickle."""
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / "arrays.npz", allow_pickle=False, **self._arrays())
        self._write_meta(directory, **self._meta())

    def _meta(self) -> dict[str, Any]:
        """What a model keeps in model.json beside config and vocabulary (JSON values)."""
        return {}

    def _set_meta(self, meta: dict[str, Any]) -> None:
        """Take back what :meth:`_meta` stored (nothing, unless a model overrides both)."""
        return None

    def _write_meta(self, directory: Path, **extra: Any) -> None:
        meta = {
            "name": self.name,
            "config": self.config(),
            "user_ids": self.user_ids,
            "item_ids": self.item_ids,
        }
        (directory / "model.json").write_text(json.dumps({**meta, **extra}), encoding="utf-8")

    @classmethod
    def _from_meta(cls, directory: Path) -> tuple[Self, dict[str, Any]]:
        """A configured, vocabulary-bearing but untrained instance, and the stored metadata."""
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        if meta["name"] != cls.name:
            raise ValueError(f"{directory} holds a {meta['name']!r} model, not {cls.name!r}")
        model = cls(**meta["config"])
        model._set_vocabulary(meta["user_ids"], meta["item_ids"])
        return model, meta

    @classmethod
    def load(cls, directory: Path) -> Self:
        model, meta = cls._from_meta(directory)
        model._set_meta(meta)
        with np.load(directory / "arrays.npz", allow_pickle=False) as arrays:
            model._set_arrays({key: arrays[key] for key in arrays.files})
        return model


def _jsonable(value: Any) -> Any:
    """Tuples as lists, so a config reads back as it was written."""
    return list(value) if isinstance(value, tuple) else value
