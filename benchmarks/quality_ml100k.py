"""Quality benchmark on MovieLens-100K: every model on the three shared protocols.

    python benchmarks/quality_ml100k.py [--data ../shared/data/ml-100k] [--seeds 5] [--no-tune] [--write]

Tunes each model on the loo `valid` rows (NDCG@10), then runs loo, cold-items and cold-users
(k = 0, 1, 3) with the chosen parameters. Prints markdown tables with fit time, scoring
time and peak Python-heap memory; --write saves the full output in docs/journal/runs/quality_ml100k.md.
Skips with a message when the shared data folder is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import implicit
import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine, replace_section

from homefeed import __version__
from homefeed.config import Settings
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.runner import EvaluationReport, run_protocol
from homefeed.evaluation.tuning import DEFAULT_PARAMS, resolve_models

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ml-100k"
MODELS = "random,pop,profile,itemknn,covisitation,ease,als,bpr"


def table(report: EvaluationReport, columns: list[str], label_suffix: str = "") -> list[str]:
    lines = []
    for split in report.splits:
        lines += [f"**{split.split}** ({split.n_users} users)", ""]
        header = ["model", *columns, "fit s", "score s", "peak MiB"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, result in split.results.items():
            spread = split.spread.get(name, {})
            cells = []
            for column in columns:
                value = f"{result.metrics[column]:.4f}"
                if column in spread and spread[column] > 0:
                    value += f" ± {spread[column]:.4f}"
                cells.append(value)
            flag = " (cannot score: id order)" if any("same score" in n for n in result.notes) else ""
            lines.append(
                f"| {name}{label_suffix}{flag} | "
                + " | ".join(cells)
                + f" | {result.fit_seconds:.2f} | {result.score_seconds:.2f} | {result.peak_mib:.0f} |"
            )
        lines.append("")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--no-tune", dest="tune", action="store_false")
    parser.add_argument("--write", action="store_true", help="write the full output to docs/journal/runs/")
    args = parser.parse_args()
    if not (args.data / "ml-100k.inter").exists():
        print(f"skipped: {args.data} is absent (MovieLens-100K in the shared atomic layout is needed)")
        return 0

    started = time.perf_counter()
    dataset = EvalDataset.load(args.data, Settings().event_weights)
    models = resolve_models(args.models)

    def step(message: str, done: int, total: int) -> None:
        print(f"  [{done + 1}/{total}] {message}", file=sys.stderr, flush=True)

    loo = run_protocol(
        dataset, "loo", models, [10, 20], seeds=args.seeds, tune_models=args.tune, on_step=step
    )
    params = {name: t.best for name, t in loo.tuning.items()} or {n: DEFAULT_PARAMS[n] for n in models}
    folded = run_protocol(
        dataset,
        "loo",
        ["als", "bpr", "ease", "itemknn"],
        [10, 20],
        seeds=args.seeds,
        from_history=True,
        params=params,
        on_step=step,
    )
    cold_items = run_protocol(
        dataset, "cold-items", models, [10, 20], seeds=args.seeds, params=params, on_step=step
    )
    cold_users = run_protocol(
        dataset, "cold-users", models, [20], seeds=args.seeds, params=params, on_step=step
    )

    command = (
        "python benchmarks/quality_ml100k.py" + ("" if args.tune else " --no-tune") + f" --seeds {args.seeds}"
    )
    lines = [
        "## Quality on MovieLens-100K (the three shared protocols)",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}",
        f"- **Machine:** {machine()}",
        f"- **Versions:** homefeed {__version__}, implicit {implicit.__version__}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}",
        f"- **Command:** `{command}` (total {time.perf_counter() - started:.0f} s)",
        f"- Stochastic models (random, als, bpr): mean ± standard deviation over {args.seeds} seeds. "
        "Peak MiB is the Python heap (tracemalloc) during fit + scoring; native allocations of "
        "implicit are not included. Ties are ordered by ascending item id.",
        "",
        "Hyper-parameters, tuned on the loo `valid` rows by NDCG@10 (grid in "
        "`src/homefeed/evaluation/tuning.py`) and used for every protocol:",
        "",
    ]
    for name in models:
        tuned = loo.tuning.get(name)
        note = f" (valid NDCG@10 {tuned.best_score:.4f}, {len(tuned.trials)} trials)" if tuned else ""
        lines.append(f"- {name}: `{params[name]}`{note}")
    lines += ["", "### P1 `loo`: full ranking, history (train + valid) excluded", ""]
    lines += table(loo, ["hr@10", "ndcg@10", "mrr@10", "hr@20", "ndcg@20"])
    lines += [
        "Same models, each user scored from the known history at test time (train + valid; "
        "ALS fold-in, EASE/item-kNN on the full history; BPR: mean of item factors) — the "
        "way the service scores a user:",
        "",
    ]
    lines += table(folded, ["hr@10", "ndcg@10", "mrr@10", "hr@20", "ndcg@20"], " (history)")
    lines += ["Beyond accuracy on loo at K = 20:", ""]
    beyond = [
        "coverage@20",
        "novelty@20",
        "diversity@20",
        "popularity@20",
        "gini_items@20",
        "gini_categories@20",
    ]
    lines += table(loo, beyond)
    lines += ["### P2 `cold-items`: rank the 168 cold items only", ""]
    lines += table(cold_items, ["recall@10", "ndcg@10", "recall@20", "ndcg@20"])
    lines += ["### P3 `cold-users`: profile + first k interactions", ""]
    lines += table(cold_users, ["recall@20", "ndcg@20"])
    print("\n".join(lines))
    if args.write:
        replace_section("quality_ml100k", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
