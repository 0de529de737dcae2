"""The learning-to-rank model: LightGBM LambdaMART over the candidates of several sources.

Training never looks at evaluation rows: each training user's latest ``holdout`` liked items
are held out, the sources are fitted on the rest, their candidates for that user are labelled
(1 for the held-out items) and the ranker learns to put them first, grouped per user, with early stopping
on a fifth of the users. The sources are then refitted on every row for scoring.

The defaults suit a few thousand training users' groups: small trees (7 leaves, 20 rows a
leaf) learned slowly (rate 0.02, patience 100), since larger, faster trees stop early on noise
(the measurements are in docs/journal/).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Self

import lightgbm as lgb
import numpy as np
import scipy.sparse as sp

from homefeed.domain import UserProfile
from homefeed.models.base import (
    FORGOTTEN_ITEM,
    Recommender,
    Retrieved,
    UserQuery,
    Validation,
    left_out_anchors,
)
from homefeed.models.context import RequestContext
from homefeed.models.data import Interactions, blanked_rows, kept_sequences, pack_sequences, unpack_sequences
from homefeed.models.registry import base_model
from homefeed.ranking.categories import CategoryStats, profiles_of
from homefeed.ranking.context import ContextStats, contexts_of
from homefeed.ranking.features import (
    RESCORED_HEAD,
    ItemColumns,
    ItemStats,
    SourceView,
    candidate_features,
    candidates_from,
    feature_list,
    reference_items,
    source_views,
)
from homefeed.ranking.searched import SearchedSource

# the ranker's sources and the options it fixes for them, declared once: `homefeed train` adds
# the settings' options of each source, the evaluation its tuned ones, and these win
DEFAULT_SOURCES: dict[str, dict[str, Any]] = {
    "sequential": {},
    "als": {},
    "itemknn": {},
    "covisitation": {},
    # the ranker's profile source weighs profile groups more than the profile model's own
    # default, which was chosen for new users
    "profile": {"profile_weight": 1.0},
    "popularity": {},
}
BATCH = 256
logger = logging.getLogger(__name__)
SEARCHED_DIR = "indexes"  # the vector sources' indexes over a large catalog, saved with the ranker
SAMPLED_USERS = 64  # training users whose heads each source's index is chosen on
# early stopping reads NDCG over the whole candidate list: NDCG@10 over a fifth of a thousand
# users moved with a handful of them, and stopped training after 2-5 rounds on some seeds
VALID_AT = 1000


Rows = tuple[np.ndarray, np.ndarray, list[int]]  # features, labels and group sizes


def _stacked(rows: list[np.ndarray], labels: list[np.ndarray], groups: list[int]) -> Rows:
    """One set's rows as one matrix, its labels as one vector (the lists emptied as they go)."""
    width = rows[0].shape[1] if rows else 0
    features = np.vstack(rows) if rows else np.zeros((0, width), dtype=np.float32)
    rows.clear()
    return features, np.concatenate(labels) if labels else np.zeros(0, dtype=np.float32), groups


class RankerRecommender(Recommender):
    """Scores the union of each source's ``per_source`` best items with a LambdaMART model;
    every other item gets -inf (it is never recommended)."""

    name = "ranker"
    config_keys = (
        "sources",
        "per_source",
        "n_estimators",
        "learning_rate",
        "num_leaves",
        "min_child_samples",
        "early_stopping",
        "valid_share",
        "holdout",
        "max_training_users",
        "seed",
    )
    prefers_history = True
    reads_request = True
    reads_interests = True
    anchor_window = 5  # an explanation rescores the sources and the booster once per liked item

    def __init__(
        self,
        sources: dict[str, dict[str, Any]] | None = None,
        per_source: int = 100,
        n_estimators: int = 500,
        learning_rate: float = 0.02,
        num_leaves: int = 7,
        min_child_samples: int = 20,
        early_stopping: int = 100,
        valid_share: float = 0.2,
        holdout: int = 3,
        max_training_users: int = 10_000,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.sources = {name: dict(params) for name, params in (sources or DEFAULT_SOURCES).items()}
        self.per_source = per_source
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.early_stopping = early_stopping
        self.valid_share = valid_share
        self.holdout = holdout
        self.max_training_users = max_training_users
        self.seed = seed
        self.models: dict[str, Recommender] = {}
        self.booster: lgb.Booster | None = None
        self.stats = ItemStats(np.zeros(0), np.zeros(0), None)
        self.categories = CategoryStats.empty()
        self._category_groups: list[str] = []
        self.context = ContextStats.empty()
        self._context_values: dict[str, list[str]] = {}
        self.sequences: list[np.ndarray] = []
        self.report: dict[str, Any] = {}
        self._adoptable: tuple[Interactions, Mapping[str, Recommender]] | None = None
        # each vector source's index over a large catalog, with the source it was built for
        self._searched: dict[str, tuple[Recommender, SearchedSource | None]] = {}
        self._searching = threading.Lock()

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in feature_list(list(self.sources)))

    @property
    def reads_item_text(self) -> bool:
        return True

    def parts(self) -> dict[str, Recommender]:
        return self.models

    def adopt(self, data: Interactions, fitted: Mapping[str, Recommender]) -> None:
        self._adoptable = (data, dict(fitted))

    def training_report(self) -> dict[str, Any]:
        return self.report

    # -- training ---------------------------------------------------------
    def _fit(self, data: Interactions) -> None:
        self._fit_validated(data, None)

    def _fit_validated(self, data: Interactions, validation: Validation | None) -> None:
        held = data.last_positive(per_user=self.holdout, keep_at_least=2)
        keep = np.ones(len(data.users), dtype=bool)
        keep[held] = False
        earlier = data.subset(keep)
        self.models = self._fit_sources(earlier, validation)
        targets: dict[int, set[int]] = {}
        first_target: dict[int, float] = {}
        for user, item, moment in zip(data.users[held], data.items[held], data.timestamps[held], strict=True):
            targets.setdefault(int(user), set()).add(int(item))
            first_target[int(user)] = min(first_target.get(int(user), np.inf), float(moment))
        train, valid = self._labelled(earlier, targets, first_target)
        self.booster = self._train(train, valid)
        # the training rows (GBs at 10M events) and the sources fitted on the earlier events
        # go before the sources are fitted again on every event
        del train, valid, earlier
        self.models = {}
        self._searched.clear()
        self.models = self._fit_sources(data, validation, adoptable=self._adopted_for(data))
        self._set_item_stats(data)
        self.sequences = [items for items, _ in data.sequences()]

    def _set_item_stats(self, data: Interactions) -> None:
        self.stats = ItemStats.from_data(data)
        self.categories = CategoryStats.from_data(data)
        self.context = ContextStats.from_data(data)

    def _adopted_for(self, data: Interactions) -> Mapping[str, Recommender]:
        """The models handed over by ``adopt`` when they were fitted on this very ``data``."""
        adoptable, self._adoptable = self._adoptable, None
        return adoptable[1] if adoptable is not None and adoptable[0] is data else {}

    def _fit_sources(
        self,
        data: Interactions,
        validation: Validation | None,
        adoptable: Mapping[str, Recommender] | None = None,
    ) -> dict[str, Recommender]:
        """Each source fitted on ``data``; one in ``adoptable`` (fitted on the same data, of the
        same class with the same options) is taken as it is."""
        models = {}
        for name, params in self.sources.items():
            cls = base_model(name)
            options = dict(params)
            if cls.accepts("seed"):  # a source's own seed, when given, wins
                options.setdefault("seed", self.seed)
            fresh = cls(**options)
            offered = (adoptable or {}).get(name)
            if offered is not None and type(offered) is cls and offered.config() == fresh.config():
                self.report.setdefault("adopted_sources", []).append(name)
                models[name] = offered
            else:
                models[name] = fresh.fit(data, validation)
        return models

    def _labelled(
        self, earlier: Interactions, targets: dict[int, set[int]], first_target: dict[int, float]
    ) -> tuple[Rows, Rows]:
        """Candidates of every held-out user, labelled 1 for the items the user picked next,
        as training and validation rows (a ``valid_share`` of the users, drawn at random);
        users none of whose next items any source proposed teach nothing and are left out.
        The user's dislikes before their next picks are read as the page reads them."""
        self._set_item_stats(earlier)
        # every event of each user in time order, sorted once (it takes seconds at 10M events);
        # only the drawn users' rows are kept (every user's histories are GBs at 10M events)
        ordered = earlier.user_rows(positive_only=False)
        latest = np.array([rows[-1] if len(rows) else -1 for rows in ordered], dtype=np.int64)
        users = self._training_users(sorted(targets))
        rows_of = {user: ordered[user] for user in users}
        del ordered
        rng = np.random.default_rng(self.seed)
        parts: dict[bool, tuple[list[np.ndarray], list[np.ndarray], list[int]]] = {
            False: ([], [], []),
            True: ([], [], []),
        }
        for start in range(0, len(users), BATCH):
            chunk = users[start : start + BATCH]
            events = [rows_of[user] for user in chunk]
            histories = [earlier.items[rows][earlier.weights[rows] > 0] for rows in events]
            disliked = [
                earlier.items[rows][
                    (earlier.weights[rows] < 0) & (earlier.timestamps[rows] < first_target[user])
                ]
                for user, rows in zip(chunk, events, strict=True)
            ]
            profiles, contexts = profiles_of(earlier, chunk), contexts_of(earlier, chunk, latest)
            found = self._candidates(histories, profiles, contexts, disliked)
            for user, (candidates, features) in zip(chunk, found, strict=True):
                hit = np.isin(candidates, list(targets[user]))
                if hit.any():
                    rows, labels, groups = parts[bool(rng.random() < self.valid_share)]
                    rows.append(features)
                    labels.append(hit.astype(np.float32))
                    groups.append(len(candidates))
        self.report["training_users"] = len(parts[False][2]) + len(parts[True][2])
        self.report["held_out_users"] = len(targets)
        # stacked straight into the two sets: at 10M events each copy is a GB
        train, valid = (parts[part] for part in (False, True))
        parts.clear()
        return _stacked(*train), _stacked(*valid)

    def _training_users(self, users: list[int]) -> list[int]:
        """At most ``max_training_users`` of ``users``, drawn at random: each one's candidates
        are scored over the whole catalog by every source, so 500,000 users at 100,000 items
        would take hours, and LambdaMART learns as well from ten thousand queries."""
        if len(users) <= self.max_training_users:
            return users
        rng = np.random.default_rng(self.seed)
        drawn = rng.choice(len(users), size=self.max_training_users, replace=False)
        return [users[index] for index in np.sort(drawn)]

    def _train(self, train_rows: Rows, valid_rows: Rows) -> lgb.Booster:
        train_x, train_y, train_g = train_rows
        valid_x, valid_y, valid_g = valid_rows
        params = {
            "objective": "lambdarank",
            "metric": "ndcg",
            "ndcg_eval_at": [VALID_AT],
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "seed": self.seed,
            "deterministic": True,
            # LightGBM otherwise times both histogram layouts and keeps the faster, so a busy
            # machine could train another model from the same data
            "force_col_wise": True,
            "verbosity": -1,
        }
        train = lgb.Dataset(train_x, train_y, group=train_g, feature_name=list(self.feature_names))
        valid = lgb.Dataset(valid_x, valid_y, group=valid_g, reference=train)
        booster = lgb.train(
            params,
            train,
            num_boost_round=self.n_estimators,
            valid_sets=[valid],
            valid_names=["valid"],
            callbacks=[lgb.early_stopping(self.early_stopping, verbose=False)],
        )
        gains = booster.feature_importance(importance_type="gain")
        self.report["best_iteration"] = int(booster.best_iteration or booster.current_iteration())
        self.report["valid_ndcg"] = float(booster.best_score["valid"][f"ndcg@{VALID_AT}"])
        self.report["importance"] = dict(zip(self.feature_names, (float(g) for g in gains), strict=True))
        return booster

    # -- scoring ----------------------------------------------------------
    def _candidates(
        self,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        contexts: Sequence[RequestContext | None],
        disliked: Sequence[np.ndarray] | None = None,
        chosen: np.ndarray | None = None,
        summary: Mapping[str, SourceView | None] | None = None,
        views_out: list[dict[str, SourceView | None]] | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per history, profile, request context and disliked items: candidate item indices and
        their features (sources that read profiles, such as ``profile``, score with them);
        disliked items are never candidates. With ``chosen``, those items are every history's
        candidates (an explanation rescoring a page's items); with ``summary`` too (each
        source's view of the first history, in a large catalog: the others are that one with
        an item left out), the sources score only ``chosen``, the items of those views' heads
        and the first history's items. Each history's source views go to ``views_out``."""
        known = None
        if summary is not None and chosen is not None:
            heads = [view.rescore_items for view in summary.values() if view is not None]
            known = np.unique(
                np.concatenate([chosen, histories[0], *(head for head in heads if head is not None)])
            )
        reference = reference_items(self.n_items)
        searched = self._searched_users(histories, profiles) if known is None else {}
        batch = {
            name: self._source_scores(model, histories, profiles, known)
            for name, model in self.models.items()
            if name not in searched
        }
        found = []
        shared: tuple[tuple[int, int, bytes | None], ItemColumns] | None = None
        for row, (history, profile, context) in enumerate(zip(histories, profiles, contexts, strict=True)):
            scores = {name: values[row].astype(np.float64) for name, values in batch.items()}
            blocked = np.zeros(self.n_items, dtype=bool)
            blocked[history] = True
            negative = disliked[row] if disliked is not None else None
            if negative is not None:
                blocked[negative] = True
            views = source_views(scores, blocked, self.per_source, reference, summary, known)
            if searched:
                for name, (source, users) in searched.items():
                    views[name] = source.view(users[row], blocked, self.per_source)
                views = {name: views[name] for name in self.models}  # the feature columns' order
            if views_out is not None:
                views_out.append(views)
            candidates = candidates_from(views) if chosen is None else chosen
            if chosen is not None:  # every history rescores the same items: their own columns once
                key = (id(profile), id(context), None if negative is None else negative.tobytes())
                if shared is None or shared[0] != key:
                    columns = ItemColumns.of(
                        chosen, self.stats, self.categories, self.context, profile, context, negative
                    )
                    shared = (key, columns)
            features = candidate_features(
                views,
                candidates,
                history,
                self.stats,
                self.per_source,
                self.categories,
                self.context,
                profile,
                context,
                negative,
                shared[1] if shared is not None else None,
            )
            found.append((candidates, features))
        return found

    def _searched_users(
        self, histories: Sequence[np.ndarray], profiles: Sequence[UserProfile | None]
    ) -> dict[str, tuple[SearchedSource, np.ndarray]]:
        """The sources whose best items are searched in their vector index for these histories
        (those scoring by vectors, in a large catalog), with each history's user vector."""
        searched = {}
        for name, model in self.models.items():
            source = self._searched_source(name, model)
            users = model.new_user_vectors(histories, profiles) if source is not None else None
            if source is not None and users is not None:
                searched[name] = (source, np.asarray(users))
        return searched

    def _searched_source(self, name: str, model: Recommender) -> SearchedSource | None:
        """Source ``name``'s vector index when the catalog is large, the source scores by
        vectors and an index finds its users' heads (else None: it scores every item): the
        saved one, or chosen now (``save`` chooses it at training)."""
        reference = reference_items(self.n_items)
        vectors = model.item_vectors() if model.scores_by_vectors and reference is not None else None
        if reference is None or vectors is None or len(vectors) != self.n_items:
            return None
        with self._searching:
            held = self._searched.get(name)
            if held is None or held[0] is not model:
                held = (model, self._searched_index(name, model))
                self._searched[name] = held
            return held[1]

    def _searched_index(self, name: str, model: Recommender) -> SearchedSource | None:
        """The index over a vector source's item vectors that finds most of sampled training
        users' heads (seconds to minutes in a large catalog); None when none finds enough. The
        choice goes to the report (``indexes``)."""
        vectors, reference = model.item_vectors(), reference_items(self.n_items)
        assert vectors is not None and reference is not None, "only a vector source in a large catalog"
        head = max(RESCORED_HEAD, 2 * self.per_source)
        source, choice = SearchedSource.chosen(
            vectors, reference, _forgotten(model), self._sampled_user_vectors(model), head
        )
        self.report.setdefault("indexes", {})[name] = {
            "index": choice.name,
            "recall": choice.recall,
            "widths": {str(width): share for width, share in choice.widened.items()},
            "searched": source is not None,
        }
        logger.info(
            "ranker source %s: the %s index finds %.3f of users' best %d: %s",
            name,
            choice.name,
            choice.found,
            head,
            "searched" if source is not None else "every item scored instead",
        )
        return source

    def _sampled_user_vectors(self, model: Recommender) -> np.ndarray | None:
        """``model``'s vectors of up to SAMPLED_USERS training users' histories (None: none)."""
        if not self.sequences:
            return None
        rng = np.random.default_rng(0)
        drawn = rng.choice(len(self.sequences), size=min(SAMPLED_USERS, len(self.sequences)), replace=False)
        histories = [self.sequences[user] for user in drawn.tolist() if len(self.sequences[user])]
        users = model.new_user_vectors(histories, [None] * len(histories)) if histories else None
        if users is None:
            return None
        users = np.asarray(users, dtype=np.float32)
        users = users[np.any(users != 0, axis=1)]
        return users if len(users) else None

    @staticmethod
    def _source_scores(
        model: Recommender,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        known: np.ndarray | None,
    ) -> np.ndarray:
        """A source's scores of every item for each history, or of the ``known`` items only."""
        if known is None:
            return np.asarray(model.score_new_users(histories, profiles))
        return np.asarray(model.score_new_users_at(histories, profiles, known))

    def score_histories(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return self.score_new_users(histories, [None] * len(histories))

    def score_new_users(
        self,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        contexts: Sequence[RequestContext | None] | None = None,
    ) -> np.ndarray:
        """Scores for users known by a history, maybe a profile and a request context (what
        pages and the evaluation pass); items outside the candidates get -inf."""
        assert self.booster is not None, "the ranker is not trained"
        contexts = contexts if contexts is not None else [None] * len(histories)
        out = np.full((len(histories), self.n_items), -np.inf)
        for start in range(0, len(histories), BATCH):
            chunk = histories[start : start + BATCH]
            found = self._candidates(chunk, profiles[start : start + BATCH], contexts[start : start + BATCH])
            for offset, (candidates, features) in enumerate(found):
                if len(candidates):
                    # one user's few hundred rows: threads would only spin
                    out[start + offset, candidates] = self.booster.predict(features, num_threads=1)
        return out

    def retrieve(self, user: UserQuery, allowed: np.ndarray, n: int) -> Retrieved:
        """Every allowed candidate of the sources (their ``per_source`` best each), unscored,
        with its feature row: the page's scoring stage ranks them (``score_features``), and the
        rows stay on the candidates for ``explain``."""
        disliked = user.items[user.weights < 0]
        seen: list[dict[str, SourceView | None]] = []
        ((candidates, features),) = self._candidates(
            [user.liked], [user.profile], [user.context], [disliked], views_out=seen
        )
        keep = allowed[candidates]
        anchors = None
        if reference_items(self.n_items) is not None:  # a large catalog: explained from these views
            anchors = partial(self._page_anchors, user, disliked, seen[0])
        return Retrieved(candidates[keep], None, features[keep], anchors)

    def _page_anchors(
        self,
        user: UserQuery,
        disliked: np.ndarray,
        summary: Mapping[str, SourceView | None],
        chosen: np.ndarray,
    ) -> np.ndarray:
        """:meth:`anchors` for a page of a large catalog, read from the page's own source views
        with its profile and context: the histories one liked item shorter are scored on the
        views' best items and ``chosen`` only, so the whole catalog is scored once a page."""
        positive = user.weights > 0
        liked, weights = user.items[positive], user.weights[positive]

        def scores_of(histories: Sequence[tuple[np.ndarray, np.ndarray]], chosen: np.ndarray) -> np.ndarray:
            count = len(histories)
            return self._predicted(
                [items for items, _ in histories],
                [user.profile] * count,
                [user.context] * count,
                [disliked] * count,
                chosen,
                summary,
            )

        return left_out_anchors(liked, weights, chosen, self.anchor_window, scores_of)

    def score_features(self, features: np.ndarray) -> np.ndarray:
        """The booster's score of each feature row (one user's few hundred rows: one thread)."""
        assert self.booster is not None, "the ranker is not trained"
        if len(features) == 0:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self.booster.predict(features, num_threads=1), dtype=np.float64)

    def features_of(
        self,
        history: np.ndarray,
        items: np.ndarray,
        profile: UserProfile | None = None,
        context: RequestContext | None = None,
        disliked: np.ndarray | None = None,
    ) -> list[dict[str, float]]:
        """Feature values of ``items`` for a user with ``history``, ``profile``, request
        ``context`` and ``disliked`` items (defaults where an item is not among the
        candidates), by feature name: what the ranker saw."""
        negative = [disliked] if disliked is not None else None
        ((candidates, features),) = self._candidates([history], [profile], [context], negative)
        row_of = {int(item): row for row, item in enumerate(candidates.tolist())}
        defaults = [feature.default for feature in feature_list(list(self.sources))]
        names = self.feature_names
        return [
            dict(zip(names, (features[row_of[int(item)]] if int(item) in row_of else defaults), strict=True))
            for item in items.tolist()
        ]

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.score_histories([items[weights > 0]])[0]
        return scores

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return self.score_histories([self.sequences[user] for user in users])

    def _scores_of(
        self, histories: Sequence[tuple[np.ndarray, np.ndarray]], chosen: np.ndarray
    ) -> np.ndarray:
        """The booster's scores of ``chosen`` for each (items, weights) history, their features
        computed as a page computes them (without profile or context): what an explanation's
        leave-one-out rescoring reads. One batch through the sources; features for ``chosen``
        only, so it costs about one more page."""
        assert self.booster is not None, "the ranker is not trained"
        liked = [items[weights > 0] for items, weights in histories]
        disliked = [items[weights < 0] for items, weights in histories]
        none = [None] * len(histories)
        summary = None
        if reference_items(self.n_items) is not None:  # a large catalog: summarised once
            summary = self._views(liked[0], disliked[0])
        return self._predicted(liked, none, none, disliked, chosen, summary)

    def _predicted(
        self,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        contexts: Sequence[RequestContext | None],
        disliked: Sequence[np.ndarray],
        chosen: np.ndarray,
        summary: Mapping[str, SourceView | None] | None,
    ) -> np.ndarray:
        """The booster's scores [len(histories), len(chosen)] of ``chosen`` for each history."""
        assert self.booster is not None, "the ranker is not trained"
        found = self._candidates(histories, profiles, contexts, disliked, chosen, summary)
        predicted = self.booster.predict(np.vstack([features for _, features in found]), num_threads=1)
        return np.asarray(predicted, dtype=np.float64).reshape(len(histories), len(chosen))

    def _views(self, liked: np.ndarray, disliked: np.ndarray) -> dict[str, SourceView | None]:
        """Each source's view of one history (without profile or context), every item scored."""
        seen: list[dict[str, SourceView | None]] = []
        self._candidates([liked], [None], [None], [disliked], views_out=seen)
        return seen[0]

    def item_vectors(self) -> np.ndarray | None:
        """The first source's item vectors (for "because you liked X" and similar items)."""
        for model in self.models.values():
            vectors = model.item_vectors()
            if vectors is not None:
                return vectors
        return None

    # -- deletion (the sources forget through parts()) ---------------------------
    def _keep_users(self, keep: np.ndarray) -> None:
        self.sequences = kept_sequences(self.sequences, keep)

    def _blank_items(self, indices: np.ndarray) -> None:
        with self._searching:
            held = dict(self._searched)
        # built again from the blanked vectors while pages go on with the old ones
        rebuilt = {  # the kind chosen at training, of the blanked vectors
            name: (model, None if source is None else self._rebuilt(model, source))
            for name, (model, source) in held.items()
        }
        with self._searching:
            self._searched.update(rebuilt)
        stats = self.stats
        text = blanked_rows(stats.text, indices) if stats.text is not None else None
        creators = None
        if stats.creators is not None:
            creators = stats.creators.copy()
            creators[indices] = -1
        self.stats = ItemStats(stats.log_popularity, stats.recent_popularity, text, creators)

    def _rebuilt(self, model: Recommender, source: SearchedSource) -> SearchedSource:
        vectors = model.item_vectors()
        assert vectors is not None, "only a vector source is searched"
        return SearchedSource.build(vectors, source.reference, _forgotten(model), source.index.config)

    def _user_record(self, index: int) -> dict[str, Any]:
        return {"sequence": self.item_id_list(self.sequences[index])}

    # -- persistence ------------------------------------------------------
    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "log_popularity": self.stats.log_popularity,
            "recent_popularity": self.stats.recent_popularity,
            **pack_sequences(self.sequences),
        }
        if self.stats.text is not None:
            arrays["text"] = self.stats.text
        if self.stats.creators is not None:
            arrays["creators"] = self.stats.creators
        items = self.categories.items
        arrays.update(
            category_data=items.data,
            category_indices=items.indices,
            category_indptr=items.indptr,
            category_shape=np.array(items.shape),
            category_lift=self.categories.lift,
        )
        arrays.update(self.context.arrays())
        return arrays

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        text = arrays.get("text")
        self.stats = ItemStats(
            arrays["log_popularity"], arrays["recent_popularity"], text, arrays.get("creators")
        )
        self.sequences = unpack_sequences(arrays["sequence_lengths"], arrays["sequence_items"])
        if "category_shape" not in arrays or "context_born" not in arrays:  # older: load says retrain
            self.categories = CategoryStats.empty(self.n_items)
            self.context = ContextStats.empty(self.n_items)
            return
        shape = tuple(int(size) for size in arrays["category_shape"])
        items = sp.csr_matrix(
            (arrays["category_data"], arrays["category_indices"], arrays["category_indptr"]), shape=shape
        )
        self.categories = CategoryStats(items, self._category_groups, arrays["category_lift"])
        self.context = ContextStats.from_arrays(arrays, self._context_values)

    def _meta(self) -> dict[str, Any]:
        return {"category_groups": self.categories.groups, "context_values": self.context.values}

    def _set_meta(self, meta: dict[str, Any]) -> None:
        # read before the arrays (Recommender.load), which then build the category and context stats
        self._category_groups = list(meta.get("category_groups", []))
        self._context_values = {key: list(values) for key, values in meta.get("context_values", {}).items()}

    def save(self, directory: Path) -> None:
        """Sources in sub-folders, the booster as LightGBM's text format, stats as npz."""
        assert self.booster is not None
        super().save(directory)
        self.booster.save_model(str(directory / "ranker.txt"))
        for name, model in self.models.items():
            model.save(directory / "sources" / name)
            searched = self._searched_source(name, model)  # chosen here: the report records it
            if searched is not None:
                searched.index.save(directory / SEARCHED_DIR / name)
        (directory / "report.json").write_text(json.dumps(self.report, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> Self:
        model = super().load(directory)
        model.booster = lgb.Booster(model_file=str(directory / "ranker.txt"))
        if model.booster.num_feature() != len(model.feature_names):
            raise ValueError(
                f"{directory}: this ranker was trained on {model.booster.num_feature()} features and "
                f"this version computes {len(model.feature_names)}: train it again (homefeed train)"
            )
        model.report = json.loads((directory / "report.json").read_text(encoding="utf-8"))
        model.models = {name: base_model(name).load(directory / "sources" / name) for name in model.sources}
        reference = reference_items(model.n_items)
        chosen = model.report.get("indexes", {})
        for name, source in model.models.items():
            vectors = source.item_vectors() if reference is not None else None
            if vectors is None or reference is None:
                continue
            if not chosen.get(name, {}).get("searched"):  # no index found enough, or an older
                model._searched[name] = (source, None)  # ranker: choosing takes seconds, not at a page
                continue
            saved = SearchedSource.load(
                directory / SEARCHED_DIR / name, vectors, reference, _forgotten(source)
            )
            if saved is not None:
                model._searched[name] = (source, saved)
        return model


def _forgotten(model: Recommender) -> np.ndarray:
    """Which of the model's items were forgotten (their vectors blanked)."""
    return np.fromiter((item.startswith(FORGOTTEN_ITEM) for item in model.item_ids), bool, model.n_items)
