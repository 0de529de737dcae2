"""Faithfulness of "because you liked X" on MovieLens-100K `loo`: for sampled test users, each
model's top 10 unseen items are explained by the liked item the model names (its anchors);
removing that item from the history must lower the item's score or its rank.

    python benchmarks/faithfulness_ml100k.py [--data ../shared/data/ml-100k] [--users 200]
                                             [--models als,covisitation,sequential,ranker] [--write]

Reports, per model, the share of explained items whose score or rank fell without the named
item (faithful), the share of items that name one at all, the time to explain a page of 10,
and the same for the rule used before (the liked item whose vector points most towards the
item), in the same run. Skips when the shared data is absent.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine
from _ml100k import finish, load, loo_setup, parser

from homefeed.evaluation.tuning import DEFAULT_PARAMS
from homefeed.models.base import Recommender
from homefeed.training.registry import model_class

MODELS = ("als", "covisitation", "sequential", "ranker")
TOP = 10


def nearest_by_vectors(model: Recommender, liked: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """The rule before: the liked item whose vector points most towards each chosen item."""
    vectors = model.item_vectors()
    if vectors is None:
        return np.full(len(chosen), -1, dtype=np.int64)
    found: np.ndarray = liked[np.argmax(vectors[chosen] @ vectors[liked].T, axis=1)].astype(np.int64)
    return found


def faithful(model: Recommender, liked: np.ndarray, chosen: np.ndarray, anchors: np.ndarray) -> list[bool]:
    """Per named anchor: did removing it lower the chosen item's score or rank?"""
    ones = np.ones(len(liked), dtype=np.float32)
    before = np.asarray(model.score_history(liked, ones), dtype=np.float64)
    before[liked] = -np.inf
    verdicts = []
    for item, anchor in zip(chosen.tolist(), anchors.tolist(), strict=True):
        if anchor < 0:
            continue
        without = liked[liked != anchor]
        after = np.asarray(
            model.score_history(without, np.ones(len(without), dtype=np.float32)), dtype=np.float64
        )
        after[liked] = -np.inf  # the same items are rankable before and after
        rank_before, rank_after = (before > before[item]).sum(), (after > after[item]).sum()
        verdicts.append(bool(after[item] < before[item] or rank_after > rank_before))
    return verdicts


def main() -> int:
    options = parser(__doc__)
    options.add_argument("--users", type=int, default=200)
    options.add_argument("--models", default=",".join(MODELS), help="comma-separated")
    args = options.parse_args()
    started = time.perf_counter()
    dataset = load(args.data)
    if dataset is None:
        return 0
    setup = loo_setup(dataset, [10])
    evaluation, data, histories = setup.evaluation, setup.data, setup.histories
    sample = np.random.default_rng(0).choice(len(histories), min(args.users, len(histories)), replace=False)
    rows = []
    for name in args.models.split(","):
        model = model_class(name)(**DEFAULT_PARAMS.get(name, {})).fit(data, evaluation.validation())
        results: dict[str, tuple[list[bool], int, int, float]] = {}
        for rule in ("named", "nearest"):
            verdicts: list[bool] = []
            named = total = 0
            seconds = 0.0
            for user in sample.tolist():
                liked = histories[user]
                scores = np.asarray(model.score_history(liked, np.ones(len(liked), dtype=np.float32)))
                scores[liked] = -np.inf
                chosen = np.argsort(-scores, kind="stable")[:TOP]
                began = time.perf_counter()
                anchors = (
                    model.anchors(liked, chosen)
                    if rule == "named"
                    else nearest_by_vectors(model, liked, chosen)
                )
                seconds += time.perf_counter() - began
                named += int((anchors >= 0).sum())
                total += len(chosen)
                verdicts += faithful(model, liked, chosen, anchors)
            results[rule] = (verdicts, named, total, seconds / len(sample))
        rows.append((name, results))
    lines = [
        '## Faithful explanations: "because you liked X" on MovieLens-100K `loo`',
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {machine()}",
        f"- **Command:** `python benchmarks/faithfulness_ml100k.py --users {args.users}` "
        f"({time.perf_counter() - started:.0f} s)",
        f"- {len(sample)} sampled test users, each model's top {TOP} unseen items; an explanation is "
        "faithful when removing the named liked item lowers the item's score or rank. *named*: the "
        "models' anchors (leave-one-out over the latest 20 liked items, the ranker's latest 10; "
        "co-visitation's own largest term); *nearest*: the rule before, the liked item nearest "
        "in the model's item vectors.",
        "",
        "| model | faithful (named) | items named | ms per page of 10 | faithful (nearest) |",
        "|---|---|---|---|---|",
    ]
    for name, results in rows:
        verdicts, named, total, seconds = results["named"]
        old, _, _, _ = results["nearest"]
        old_share = f"{np.mean(old):.1%} of {len(old)}" if old else "no item vectors"
        lines.append(
            f"| {name} | {np.mean(verdicts):.1%} of {len(verdicts)} | {named / total:.1%} "
            f"| {1000 * seconds:.1f} | {old_share} |"
        )
    return finish("faithfulness_ml100k", lines, args.write)


if __name__ == "__main__":
    raise SystemExit(main())
