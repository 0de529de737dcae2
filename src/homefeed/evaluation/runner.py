"""Run models on a protocol's splits: optional tuning on validation rows, several seeds for
stochastic models, and results collected for the report."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.evaluator import Evaluation, ModelResult
from homefeed.evaluation.protocols import Split, build_splits
from homefeed.evaluation.tuning import DEFAULT_PARAMS, STOCHASTIC, TuningResult, factory, grid, tune
from homefeed.models.base import Recommender

Step = Callable[[str, int, int], None]
Measure = Callable[[Evaluation], ModelResult]
"""Something other than one model measured on a split (the homepage, built by the page stages)."""
"""Progress: (what runs now, units done, units in all); a unit is one fit + scoring."""


@dataclass
class SplitReport:
    split: str
    n_users: int
    notes: list[str]
    results: dict[str, ModelResult] = field(default_factory=dict)
    spread: dict[str, dict[str, float]] = field(default_factory=dict)  # std over seeds


@dataclass
class EvaluationReport:
    protocol: str
    dataset: str
    ks: list[int]
    seeds: int
    from_history: bool
    splits: list[SplitReport]
    tuning: dict[str, TuningResult] = field(default_factory=dict)


def _average(results: Sequence[ModelResult]) -> tuple[ModelResult, dict[str, float]]:
    """Mean of the metrics (and times) over seeds, with the standard deviation of each metric."""
    first = results[0]
    if len(results) == 1:
        return first, {}
    keys = first.metrics.keys()
    mean = {k: float(np.mean([r.metrics[k] for r in results])) for k in keys}
    std = {k: float(np.std([r.metrics[k] for r in results])) for k in keys}
    first.metrics = mean
    first.fit_seconds = float(np.mean([r.fit_seconds for r in results]))
    first.score_seconds = float(np.mean([r.score_seconds for r in results]))
    first.peak_mib = float(max(r.peak_mib for r in results))
    first.curves = {k: np.mean([r.curves[k] for r in results], axis=0).tolist() for k in first.curves}
    first.notes.append(f"mean of {len(results)} seeds")
    return first, std


def run_protocol(
    dataset: EvalDataset,
    protocol: str,
    models: Sequence[str],
    ks: Sequence[int],
    seeds: int = 1,
    tune_models: bool = False,
    from_history: bool = False,
    params: dict[str, dict[str, Any]] | None = None,
    on_step: Step | None = None,
    item_text: np.ndarray | None = None,
    extra: Mapping[str, Measure] | None = None,
) -> EvaluationReport:
    """Evaluate ``models`` (and each of ``extra`` by its name) on every split of ``protocol``;
    fitting sees training rows only."""
    splits = build_splits(dataset, protocol)
    chosen = {name: dict((params or {}).get(name, DEFAULT_PARAMS[name])) for name in models}
    report = EvaluationReport(protocol, dataset.name, sorted(set(ks)), seeds, from_history, [])
    runs = {name: seeds if name in STOCHASTIC else 1 for name in models}
    total = len(splits) * (sum(runs.values()) + len(extra or {})) + (
        sum(len(grid(name)) for name in models) if tune_models else 0
    )
    done = 0

    def step(message: str) -> None:
        nonlocal done
        if on_step is not None:
            on_step(message, done, total)
        done += 1

    if tune_models:
        report.tuning = _tune(dataset, splits[0], models, step, item_text)
        chosen.update({name: result.best for name, result in report.tuning.items()})
    for split in splits:
        evaluation = Evaluation(dataset, split, ks, item_text)
        entry = SplitReport(split.name, len(split.cases), list(split.notes))
        for name in models:
            results = []
            for seed in range(runs[name]):
                step(f"{split.name}: {name}" + (f" (seed {seed})" if runs[name] > 1 else ""))
                results.append(
                    evaluation.run(factory(name, chosen[name], seed=seed), from_history=from_history or None)
                )
            entry.results[name], spread = _average(results)
            if spread:
                entry.spread[name] = spread
        for name, measure in (extra or {}).items():
            step(f"{split.name}: {name}")
            entry.results[name] = measure(evaluation)
        report.splits.append(entry)
    return report


def _tune(
    dataset: EvalDataset,
    split: Split,
    models: Sequence[str],
    step: Callable[[str], None],
    item_text: np.ndarray | None,
) -> dict[str, TuningResult]:
    """Grid search on the validation split that belongs to ``split`` (loo: the valid rows)."""
    if split.valid is None:
        raise ValueError(f"{split.name} has no validation rows; tune on the loo or temporal protocol")
    validation = Evaluation(dataset, split.valid, [10], item_text)

    def score(make: Callable[[], Recommender]) -> float:
        return validation.run(make).metrics["ndcg@10"]

    results = {}
    for name in models:

        def before_trial(number: int, total: int, name: str = name) -> None:
            step(f"tuning {name}: trial {number}/{total}")

        results[name] = tune(name, score, before_trial=before_trial)
    return results
