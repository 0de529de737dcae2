"""Models chosen and tuned on the operator's own events (``homefeed train --tune``).

A user's latest three liked items are held out (:func:`homefeed.training.validation.validation_split`).
Every candidate model is fitted on the rest and asked for the held-out items from the user's
history, as the page asks (:func:`homefeed.training.validation.measure`, the quality gate's
measure). Optuna's TPE sampler
then tunes each candidate's key settings within the time budget, defaults first. The
candidates in order of validation NDCG@10 lead the personal row, and the best of them feed
the ranker. The choices are written beside the versions (``selection.json``) and in each
version's manifest; training without ``--tune`` reuses the last ones.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from homefeed.accuracy import ranking_metrics
from homefeed.domain import UserProfile
from homefeed.events import VALUE_RULES, ValueRule
from homefeed.models.base import Recommender
from homefeed.models.data import Interactions
from homefeed.models.ease import memory_needed
from homefeed.models.fusion import fuse
from homefeed.ranking.ltr import DEFAULT_SOURCES
from homefeed.training.registry import model_class
from homefeed.training.validation import (
    ValidationCase,
    ValidationSplit,
    measure,
    rank_cases,
    validation_split,
)

logger = logging.getLogger(__name__)
SELECTION_FILE = "selection.json"
METRIC, K = "ndcg", 10
LEADING = 3  # personal models trained and tried on the page, best first
FUSED_DEPTH = 100  # each fused model's list is this long
FUSION_TOLERANCE = 0.02  # fuse more models while validation NDCG stays within this of the best
VALUES_Z = 2.0  # events' values are read where the paired gain is this many standard errors
EASE_MEMORY = 4 * 2**30  # EASE is a candidate while its dense matrices fit in this

Space = Callable[[optuna.trial.BaseTrial], dict[str, Any]]
SPACES: dict[str, Space] = {
    "covisitation": lambda trial: {
        "window": trial.suggest_int("window", 2, 60, log=True),
        "recent": trial.suggest_int("recent", 1, 50, log=True),
        "half_life": trial.suggest_float("half_life", 0.5, 50.0, log=True),
        "popularity_exponent": trial.suggest_float("popularity_exponent", 0.0, 1.0),
    },
    "als": lambda trial: {
        "factors": trial.suggest_categorical("factors", [16, 32, 64, 128]),
        "regularization": trial.suggest_float("regularization", 1e-3, 10.0, log=True),
        "alpha": trial.suggest_float("alpha", 0.1, 20.0, log=True),
    },
    "ease": lambda trial: {"regularization": trial.suggest_float("regularization", 5.0, 5000.0, log=True)},
    "itemknn": lambda trial: {
        "neighbours": trial.suggest_int("neighbours", 10, 500, log=True),
        "shrink": trial.suggest_float("shrink", 0.0, 100.0),
    },
    "bpr": lambda trial: {
        "factors": trial.suggest_categorical("factors", [32, 64, 128]),
        "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.1, log=True),
        "regularization": trial.suggest_float("regularization", 1e-4, 0.1, log=True),
    },
}
CANDIDATES = tuple(SPACES)  # cheap enough to tune: the default field of candidates


@dataclass
class Selection:
    """What tuning chose, on which validation, with each candidate's figures."""

    personal: list[str]  # the personal row's models, best first
    params: dict[str, dict[str, Any]]  # tuned options of each candidate
    ranker_sources: dict[str, dict[str, Any]]
    validation: dict[str, float]  # model -> best validation NDCG@10
    split: str
    users: int
    trials: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    blend: int = 1  # the personal row fuses its first this-many models (1: the first alone)
    blend_validation: dict[str, float] = field(default_factory=dict)  # models fused -> NDCG@10
    page: dict[str, float] = field(default_factory=dict)  # homepage settings chosen on validation pages
    page_validation: dict[str, float] = field(default_factory=dict)  # variant -> validation NDCG@10
    event_values: ValueRule = "ignored"  # how events' values weigh (EventPolicy.values)
    values_validation: dict[str, float] = field(default_factory=dict)  # rule -> mean default NDCG@10
    tuned_at: float = field(default_factory=time.time)

    def manifest(self) -> dict[str, Any]:
        return {"metric": f"{METRIC}@{K}", **asdict(self)}

    def save(self, models_dir: Path) -> None:
        models_dir.mkdir(parents=True, exist_ok=True)
        temporary = models_dir / f".{SELECTION_FILE}.tmp"
        temporary.write_text(json.dumps(self.manifest(), indent=2), encoding="utf-8")
        temporary.replace(models_dir / SELECTION_FILE)

    @classmethod
    def load(cls, models_dir: Path) -> Selection | None:
        """The last tuned choices, or None when there are none (or they cannot be read)."""
        path = models_dir / SELECTION_FILE
        if not path.exists():
            return None
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            saved.pop("metric", None)
            return cls(**saved)
        except (ValueError, TypeError):
            logger.exception("%s cannot be read: training with the configured models", path)
            return None

    def options(self, name: str) -> dict[str, Any]:
        """The options tuning chose for model ``name`` (the ranker: its sources)."""
        if name == "ranker":
            return {"sources": self.ranker_sources}
        return dict(self.params.get(name, {}))


def candidates_for(names: Sequence[str]) -> list[str]:
    """The tunable models, then the personal models asked for that have no search space (the
    Transformer, scored with its settings), then the ranker last (it reads the tuned ones)."""
    asked = [name for name in names if model_class(name).personal and name not in SPACES]
    return [*CANDIDATES, *sorted(set(asked) - {"ranker"}), *(["ranker"] if "ranker" in asked else [])]


@dataclass
class _Fitter:
    """Fits candidates as tuning does: the settings' options, then the options that make a model
    read strengths, then the ones tried; the ranker with the sources chosen so far."""

    training: Interactions
    defaults: Mapping[str, Mapping[str, Any]]
    reading: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __call__(
        self, name: str, options: Mapping[str, Any], training: Interactions | None = None
    ) -> Recommender:
        configured = {**self.defaults.get(name, {}), **self.reading.get(name, {}), **options}
        if name == "ranker":
            configured["sources"] = self.sources
        model: Recommender = model_class(name)(**configured)
        return model.fit(training or self.training)


def tune(
    data: Interactions,
    candidates: Sequence[str],
    budget_seconds: float,
    profiles: Mapping[str, UserProfile],
    max_users: int = 2000,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
    on_step: Callable[[str], None] | None = None,
    value_rule: ValueRule | None = "ignored",
    trials: int = 0,
) -> Selection:
    """Tune each candidate with a search space on one half of the validation users, within an
    equal share of the budget; then score every candidate as tuned on the other half, which no
    trial has seen (the best of many trials on one half flatters it), and choose the personal
    row and its fusion there. ``value_rule`` says how ``data`` weighs events' values (it is
    recorded); with None (``data`` read with values ignored) the rule is chosen first (see
    :func:`_choose_value_rule`). ``trials`` (above 0): that many trials per model instead of
    the budget's time, so the choices do not depend on the machine's speed."""
    step = on_step or (lambda _message: None)
    started = time.perf_counter()
    split = validation_split(data, max_users)
    order = np.random.default_rng(1).permutation(len(split.cases))
    halves = sorted(order[: len(order) // 2]), sorted(order[len(order) // 2 :])
    fitted = [c for c in candidates if c != "ease" or memory_needed(data.n_items) <= EASE_MEMORY]
    fit = _Fitter(split.training, defaults or {})
    fit.sources = {name: dict(fixed) for name, fixed in DEFAULT_SOURCES.items() if name not in SPACES}
    rule: ValueRule = value_rule or "ignored"
    by_rule: dict[str, float] = {}
    if value_rule is None and data.valued():
        step("choosing how event values weigh (play counts, durations, ratings)")
        rule, split, by_rule = _choose_value_rule(data, fit, fitted, profiles, max_users)
        fit.training = split.training
    fit.reading = {name: options for name, options in _strengths_read(rule, fitted).items() if options}
    tuning, choosing = ([split.cases[i] for i in half] for half in halves)
    left = budget_seconds - (time.perf_counter() - started)
    tuned = _search(fit, fitted, tuning, profiles, left, step, trials)
    step("scoring the tuned models on the other half of the validation users")
    lists: dict[str, np.ndarray] = {}
    relevant: list[set[int]] = []
    figures: dict[str, float] = {}
    for name in [name for name in tuned if name != "ranker"]:
        options, trials = tuned[name]
        lists[name], relevant = rank_cases(fit(name, options), choosing, profiles, FUSED_DEPTH)
        figures[name] = _ndcg(lists[name], relevant)
        if options:  # the tuned options stay only where they beat the defaults on unseen users
            plain, _ = rank_cases(fit(name, {}), choosing, profiles, FUSED_DEPTH)
            if _ndcg(plain, relevant) >= figures[name]:
                lists[name], figures[name], tuned[name] = plain, _ndcg(plain, relevant), ({}, trials)
    floor = _ndcg(rank_cases(fit("popularity", {}), choosing, profiles, K)[0], relevant)
    ahead = [name for name in sorted(figures, key=lambda name: -figures[name]) if figures[name] > floor]
    fit.sources.update(
        {name: {**fit.reading.get(name, {}), **tuned[name][0]} for name in ahead[:LEADING] if name in SPACES}
    )
    if "ranker" in tuned:  # last: it reads the tuned sources
        step("validating ranker")
        figures["ranker"] = _ndcg(rank_cases(fit("ranker", {}), choosing, profiles, K)[0], relevant)
    ranked_names = sorted(figures, key=lambda name: -figures[name])
    personal = [name for name in ranked_names if figures[name] > floor][:LEADING] or ranked_names[:1]
    blend, blended = _blend(personal, figures, lists, relevant)
    return Selection(
        personal=personal,
        blend=blend,
        blend_validation=blended,
        params={
            name: {**fit.reading.get(name, {}), **options}
            for name, (options, _) in tuned.items()
            if name != "ranker"
        },
        ranker_sources=fit.sources,
        validation={"popularity": round(floor, 5)}
        | {name: round(value, 5) for name, value in figures.items()},
        split=split.how,
        users=len(split.cases),
        trials={name: trials for name, (_, trials) in tuned.items()},
        seconds=round(time.perf_counter() - started, 1),
        event_values=rule,
        values_validation={name: round(value, 5) for name, value in by_rule.items()},
    )


def _search(
    fit: _Fitter,
    names: Sequence[str],
    cases: list[ValidationCase],
    profiles: Mapping[str, UserProfile],
    budget_seconds: float,
    step: Callable[[str], None],
    trials: int = 0,
) -> dict[str, tuple[dict[str, Any], int]]:
    """Each model's best options on ``cases`` and its number of trials: Optuna's TPE over the
    model's search space in an equal share of what is left of the budget (or ``trials`` of
    them), its defaults tried first (a model without a space: its defaults, one trial)."""
    started = time.perf_counter()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def score(name: str, options: Mapping[str, Any]) -> float:
        return float(measure(fit(name, options), cases, profiles, K)[METRIC].mean())

    tuned: dict[str, tuple[dict[str, Any], int]] = {}  # name -> (options, trials)
    tunable = [name for name in names if name in SPACES]
    for position, name in enumerate(tunable):
        share = (budget_seconds - (time.perf_counter() - started)) / (len(tunable) - position)
        step(f"tuning {name} ({f'{trials} trials' if trials else f'{max(share, 0):.0f} s'})")
        space = SPACES[name]
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
        study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=score(name, {})))

        def objective(trial: optuna.Trial, name: str = name, space: Space = space) -> float:
            return score(name, space(trial))

        if trials > 0:
            study.optimize(objective, n_trials=trials, catch=(ValueError,))
        elif share > 0:
            study.optimize(objective, timeout=share, catch=(ValueError,))
        best = max(study.trials, key=lambda trial: trial.value if trial.value is not None else -np.inf)
        tuned[name] = (space(optuna.trial.FixedTrial(best.params)) if best.params else {}, len(study.trials))
    for name in [name for name in names if name not in SPACES]:
        tuned[name] = ({}, 1)
    return tuned


def _choose_value_rule(
    data: Interactions,
    fit: _Fitter,
    names: Sequence[str],
    profiles: Mapping[str, UserProfile],
    max_users: int,
) -> tuple[ValueRule, ValidationSplit, dict[str, float]]:
    """How events' values weigh, chosen on all validation users: the rule under which the
    tunable candidates with their defaults score highest on average (models that read no
    strengths score alike under every rule, so the ones that do decide), if its gain over
    ignoring values is clear. Returns the rule, the split weighed by it and each rule's mean."""
    tunable = [name for name in names if name in SPACES]
    splits = {trying: validation_split(data.reweighed(trying), max_users) for trying in VALUE_RULES}
    per_case = {  # the same users and held-out rows, weighed by each rule
        trying: np.mean(
            [
                measure(fit(name, options, found.training), found.cases, profiles, K)[METRIC]
                for name, options in _strengths_read(trying, tunable).items()
            ],
            axis=0,
        )
        for trying, found in splits.items()
    }
    rule = _value_rule(per_case)
    return rule, splits[rule], {trying: float(figures.mean()) for trying, figures in per_case.items()}


def _strengths_read(rule: ValueRule, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each model's options under ``rule``: where the rule reads events' values, the models that
    can weigh a user's items by strength do."""
    reads = rule != "ignored"
    return {
        name: {"strengths": True} if reads and model_class(name).accepts("strengths") else {}
        for name in names
    }


def _value_rule(per_case: Mapping[ValueRule, np.ndarray]) -> ValueRule:
    """The rule whose per-user gain over ignoring values is largest, if it is clear: a paired
    mean gain above ``VALUES_Z`` standard errors (random values gain by chance otherwise)."""
    plain, clear = per_case["ignored"], {}
    for rule, figures in per_case.items():
        gain = figures - plain
        error = gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else np.inf
        if gain.mean() > VALUES_Z * error:
            clear[rule] = float(gain.mean())
    return max(clear, key=lambda rule: clear[rule]) if clear else "ignored"


def _ndcg(ranked: np.ndarray, relevant: list[set[int]]) -> float:
    return float(ranking_metrics(ranked[:, :K], relevant, K)[METRIC].mean())


def _blend(
    personal: Sequence[str],
    figures: Mapping[str, float],
    lists: Mapping[str, np.ndarray],
    relevant: list[set[int]],
) -> tuple[int, dict[str, float]]:
    """How many of the personal models the row fuses: the first alone, or its first two or
    three by reciprocal rank fusion. The most models whose fusion ranks the held-out items
    within ``FUSION_TOLERANCE`` of the best choice: where models are near-tied on validation,
    which one is best on the next events is chance, and their fusion is about as good as the
    best of them (a ranker leading, whose candidates are ordered later, is not fused)."""
    fusable = [name for name in personal if name in lists]
    if len(fusable) < 2 or personal[0] not in lists:
        return 1, {}
    values = {1: figures[fusable[0]]}
    for size in range(2, len(fusable) + 1):
        fused = np.full((len(relevant), K), -1, dtype=np.int64)
        for row in range(len(relevant)):
            items, _ = fuse([lists[name][row] for name in fusable[:size]], K)
            fused[row, : len(items)] = items
        values[size] = _ndcg(fused, relevant)
    best = max(values.values())
    chosen = max(size for size, value in values.items() if value >= (1 - FUSION_TOLERANCE) * best)
    return chosen, {" + ".join(fusable[:size]): round(value, 5) for size, value in values.items()}
