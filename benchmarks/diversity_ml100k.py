"""Diversity on MovieLens-100K `loo`: the homepage's MMR re-ranking (over text vectors) at
several λ, against λ = 0, for the Transformer user model's top 100.

    python benchmarks/diversity_ml100k.py [--data ../shared/data/ml-100k] [--write]

Reports NDCG@10, HR@10 and intra-list diversity of the top 20 (by genre, as in every
evaluation report) and their change against λ = 0. Skips when the shared data is absent.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine
from _ml100k import finish, item_text, load, parser

from homefeed.evaluation.evaluator import Evaluation
from homefeed.evaluation.protocols import loo
from homefeed.evaluation.tuning import DEFAULT_PARAMS
from homefeed.homepage.diversity import mmr_order
from homefeed.models.sequential import SequentialRecommender

LAMBDAS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9)
DEPTH = 20  # as the homepage: MMR picks the first 20 slots from the best 40


def rerank(
    scores: np.ndarray, histories: Sequence[np.ndarray], text: np.ndarray, diversity: float
) -> np.ndarray:
    """Top-20 item indices per user: MMR over each user's 2 x DEPTH best unseen items."""
    ranked = np.full((len(histories), 20), -1, dtype=np.int64)
    for row, history in enumerate(histories):
        values = scores[row].copy()
        values[history] = -np.inf
        pool = np.argpartition(-values, 2 * DEPTH)[: 2 * DEPTH]
        pool = pool[np.argsort(-values[pool], kind="stable")]
        ranked[row] = pool[mmr_order(values[pool], text[pool], 20, diversity)]
    return ranked


def text_ild(ranked: np.ndarray, unit: np.ndarray) -> float:
    """Mean over users of 1 - mean pairwise cosine of the top 20's text vectors."""
    values = []
    for row in ranked:
        vectors = unit[row[row >= 0]]
        pairs = len(vectors) * (len(vectors) - 1)
        if pairs:
            values.append(1.0 - float((vectors @ vectors.T).sum() - len(vectors)) / pairs)
    return float(np.mean(values))


def main() -> int:
    args = parser(__doc__).parse_args()
    started = time.perf_counter()
    dataset = load(args.data)
    if dataset is None:
        return 0
    text = item_text(dataset)
    unit = text / np.linalg.norm(text, axis=1, keepdims=True)
    split = loo(dataset)
    evaluation = Evaluation(dataset, split, [10, 20], text)
    data = split.fit_data()
    data.item_text = text
    model = SequentialRecommender(**DEFAULT_PARAMS["sequential"]).fit(data, evaluation.validation())
    histories = [evaluation._indices(case.history) for case in split.cases]
    scores = np.asarray(model.score_histories(histories), dtype=np.float64)
    rows = []
    for diversity in LAMBDAS:
        ranked = rerank(scores, histories, unit, diversity)
        metrics, _, _ = evaluation.measure(ranked)
        metrics["text_ild@20"] = text_ild(ranked, unit)
        rows.append((diversity, metrics))
    base = rows[0][1]
    lines = [
        "## Diversity: MMR re-ranking on MovieLens-100K `loo`",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {machine()}",
        f"- **Command:** `python benchmarks/diversity_ml100k.py` ({time.perf_counter() - started:.0f} s)",
        f"- The Transformer user model's {2 * DEPTH} best unseen items per user, re-ranked by maximal "
        f"marginal relevance over their text vectors into the top {DEPTH} (as "
        "`homepage.diversity_depth`); intra-list diversity (ILD) is 1 - mean cosine "
        "over pairs of the top 20, by genres (as in every evaluation report) and by text vectors.",
        "",
        "| λ | HR@10 | NDCG@10 | ILD@20 genres | ILD@20 text | NDCG@10 vs λ=0 | ILD genres vs λ=0 "
        "| ILD text vs λ=0 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for diversity, metrics in rows:
        ndcg_change = metrics["ndcg@10"] / base["ndcg@10"] - 1
        ild_change = metrics["diversity@20"] / base["diversity@20"] - 1
        text_change = metrics["text_ild@20"] / base["text_ild@20"] - 1
        values = " | ".join(f"{metrics[k]:.4f}" for k in ("hr@10", "ndcg@10", "diversity@20", "text_ild@20"))
        lines.append(
            f"| {diversity} | {values} | {ndcg_change:+.1%} | {ild_change:+.1%} | {text_change:+.1%} |"
        )
    return finish("diversity_ml100k", lines, args.write)


if __name__ == "__main__":
    raise SystemExit(main())
