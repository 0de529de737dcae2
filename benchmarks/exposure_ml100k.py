"""The cost of amortized exposure control on MovieLens-100K `loo`: the homepage's
``exposure_cap`` (no category above cap x its catalog share of impressions) replayed over the
test users in a random order, each served a top 10 from the model's best 40 unseen items, with
the impressions of the users served before counting (as the live log would).

    python benchmarks/exposure_ml100k.py [--data ../shared/data/ml-100k] [--model als] [--write]

Reports NDCG@10 and HR@10 with their change against no cap, the largest ratio of a genre's
share of impressions to its share of the catalog, the Gini of impressions over genres and the
catalog coverage of the top 10. Groups are the first genre (the importer's category). One
paired run: every cap ranks the same model's scores in the same user order.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine
from _ml100k import finish, load, loo_setup, parser

from homefeed.evaluation.metrics import gini
from homefeed.evaluation.tuning import DEFAULT_PARAMS
from homefeed.homepage.exposure import kept_positions, over_exposed
from homefeed.training.registry import model_class

CAPS = (None, 3.0, 2.0, 1.5, 1.2)
N, POOL, LEAST = 10, 40, 1000  # page size, candidates per user (as the page: 4 n), impressions to judge


def replay(
    scores: np.ndarray, histories: list[np.ndarray], groups: list[str], cap: float | None, seed: int = 0
) -> tuple[np.ndarray, Counter[str]]:
    """Top-N item indices per user, served in a seeded random order, and the impressions per group."""
    shares = {group: count / len(groups) for group, count in Counter(groups).items()}
    shown: Counter[str] = Counter()
    ranked = np.full((len(histories), N), -1, dtype=np.int64)
    for row in np.random.default_rng(seed).permutation(len(histories)):
        values = scores[row].copy()
        values[histories[row]] = -np.inf
        pool = np.argpartition(-values, POOL)[:POOL]
        pool = pool[np.argsort(-values[pool], kind="stable")]
        if cap is not None:
            over = over_exposed(shown, shares, cap, LEAST)
            pool = pool[kept_positions([[groups[item]] for item in pool], over, N)]
        ranked[row] = pool[:N]
        shown.update(groups[item] for item in pool[:N])
    return ranked, shown


def main() -> int:
    options = parser(__doc__)
    options.add_argument("--model", default="als", help="als or sequential (the Transformer)")
    args = options.parse_args()
    started = time.perf_counter()
    dataset = load(args.data)
    if dataset is None:
        return 0
    setup = loo_setup(dataset, [10])
    evaluation, histories = setup.evaluation, setup.histories
    model = model_class(args.model)(**DEFAULT_PARAMS[args.model]).fit(setup.data, evaluation.validation())
    scores = np.asarray(model.score_histories(histories), dtype=np.float64)
    groups = [dataset.items[item_id].category or "none" for item_id in evaluation.catalog]
    shares = {group: count / len(groups) for group, count in Counter(groups).items()}
    rows = []
    for cap in CAPS:
        ranked, shown = replay(scores, histories, groups, cap)
        metrics, _, _ = evaluation.measure(ranked)
        total = sum(shown.values())
        ratio = max(shown[group] / total / share for group, share in shares.items())
        spread = gini(np.array([shown.get(group, 0) for group in shares], dtype=np.float64))
        rows.append((cap, metrics, ratio, spread))
    base = rows[0][1]
    lines = [
        "## Exposure control: its cost on MovieLens-100K `loo`",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {machine()}",
        f"- **Command:** `python benchmarks/exposure_ml100k.py --model {args.model}` "
        f"({time.perf_counter() - started:.0f} s)",
        f"- The {args.model} model's {POOL} best unseen items per test user; `homepage.exposure_cap` "
        f"holds back genres above cap x their catalog share of the impressions of the users served "
        f"before (from {LEAST} impressions on), in one seeded order; the top {N} is served.",
        "",
        "| cap | HR@10 | NDCG@10 | NDCG@10 vs none | largest genre ratio | Gini over genres | coverage@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for cap, metrics, ratio, spread in rows:
        change = metrics["ndcg@10"] / base["ndcg@10"] - 1
        lines.append(
            f"| {cap if cap is not None else 'none'} | {metrics['hr@10']:.4f} | {metrics['ndcg@10']:.4f} "
            f"| {change:+.1%} | {ratio:.2f} | {spread:.3f} | {metrics['coverage@10']:.3f} |"
        )
    return finish("exposure_ml100k", lines, args.write)


if __name__ == "__main__":
    raise SystemExit(main())
