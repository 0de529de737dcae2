"""Model defaults for evaluation and grid search on a split's validation rows.

The defaults below were chosen by :func:`tune` on the ``valid`` rows of MovieLens-100K
(protocol P1, NDCG@10; see docs/journal/). Popularity is the classic MostPop
(plain counts, no decay), the protocol's reference check.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from homefeed.config import PopularitySettings, SequentialSettings
from homefeed.errors import InvalidInputError
from homefeed.models.base import Recommender
from homefeed.models.covisitation import CovisitationRecommender
from homefeed.models.profile import ProfileRecommender
from homefeed.ranking.ltr import DEFAULT_SOURCES
from homefeed.training.registry import MODEL_CLASSES, model_class

ALIASES = {"pop": "popularity", "mostpop": "popularity", "knn": "itemknn", "item-knn": "itemknn"}
STOCHASTIC = frozenset({"als", "als-text", "bpr", "random", "sequential", "ranker"})
NEEDS_TEXT = frozenset({"sequential", "als-text", "text", "ranker"})

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "popularity": {"half_life_days": None},
    "random": {},
    "text": {"half_life": 10.0},
    "profile": ProfileRecommender().config(),
    "itemknn": {"neighbours": 100, "shrink": 0.0},
    "covisitation": CovisitationRecommender().config(),
    "ease": {"regularization": 500.0},
    "als": {"factors": 32, "regularization": 0.01, "alpha": 1.0, "iterations": 15},
    "als-text": {
        "factors": 32,
        "regularization": 0.01,
        "alpha": 1.0,
        "iterations": 15,
        "text_regularization": 10.0,
        "metadata_weight": 0.5,
    },
    "bpr": {"factors": 32, "learning_rate": 0.01, "regularization": 0.03, "iterations": 200, "threads": 1},
    # the recipe `homefeed train` uses, so offline figures describe the served model
    "sequential": SequentialSettings().model_dump(),
}
# the ranker's sources (DEFAULT_SOURCES) run with the settings above, with popularity
# time-decayed as served, and with the ranker's seed: a fixed source seed made every seed of
# the ranker read the same Transformer, and its spread over seeds looked ten times smaller
_AS_RANKER_SOURCE: dict[str, dict[str, Any]] = {
    "sequential": {key: value for key, value in DEFAULT_PARAMS["sequential"].items() if key != "seed"},
    "popularity": PopularitySettings().model_dump(),
}
DEFAULT_PARAMS["ranker"] = {
    "sources": {
        name: {**_AS_RANKER_SOURCE.get(name, DEFAULT_PARAMS[name]), **fixed}
        for name, fixed in DEFAULT_SOURCES.items()
    }
}

GRIDS: dict[str, dict[str, Sequence[Any]]] = {
    "popularity": {},
    "random": {},
    "itemknn": {"neighbours": [20, 50, 100, 200, 400], "shrink": [0.0, 10.0, 50.0]},
    "covisitation": {"window": [5, 20, 50], "recent": [5, 10, 20]},
    "ease": {"regularization": [50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0]},
    "als": {"factors": [32, 64, 128], "regularization": [0.01, 0.1, 1.0], "alpha": [0.5, 1.0, 2.0]},
    "als-text": {"text_regularization": [1.0, 10.0, 100.0], "metadata_weight": [0.0, 0.5, 1.0]},
    "bpr": {"factors": [32, 64], "learning_rate": [0.01, 0.05], "regularization": [0.01, 0.03]},
    "sequential": {},
    "text": {"half_life": [3.0, 10.0, 30.0]},
    "profile": {"history_weight": [0.4, 0.8, 1.2]},
    "ranker": {},
}


def resolve_models(names: str | Sequence[str]) -> list[str]:
    """Model names from a comma-separated list, with aliases; unknown names are refused."""
    items = names.split(",") if isinstance(names, str) else list(names)
    resolved = []
    for raw in items:
        name = ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if not name:
            continue
        if name not in MODEL_CLASSES:
            raise InvalidInputError(
                f"unknown model {raw.strip()!r}; expected one of {sorted(MODEL_CLASSES)} "
                f"(aliases: {', '.join(sorted(ALIASES))})",
                field="models",
            )
        resolved.append(name)
    return resolved


def factory(name: str, params: Mapping[str, Any], seed: int | None = None) -> Callable[[], Recommender]:
    cls = model_class(name)
    options = dict(params)
    if seed is not None and name in STOCHASTIC:
        options["seed"] = seed
    return lambda: cls(**options)


@dataclass
class TuningResult:
    model: str
    best: dict[str, Any]
    best_score: float
    trials: list[tuple[dict[str, Any], float]]


def grid(name: str) -> list[dict[str, Any]]:
    """Every combination of the model's grid, on top of its defaults."""
    space = GRIDS.get(name, {})
    keys = list(space)
    return [
        {**DEFAULT_PARAMS[name], **dict(zip(keys, values, strict=True))}
        for values in itertools.product(*(space[k] for k in keys))
    ] or [dict(DEFAULT_PARAMS[name])]


def tune(
    name: str,
    score: Callable[[Callable[[], Recommender]], float],
    before_trial: Callable[[int, int], None] | None = None,
) -> TuningResult:
    """Try every grid point; ``score`` fits on the training rows and measures on validation."""
    trials: list[tuple[dict[str, Any], float]] = []
    candidates = grid(name)
    for number, params in enumerate(candidates, start=1):
        if before_trial is not None:
            before_trial(number, len(candidates))
        trials.append((params, score(factory(name, params, seed=0))))
    best, best_score = max(trials, key=lambda trial: trial[1])
    return TuningResult(name, best, best_score, trials)
