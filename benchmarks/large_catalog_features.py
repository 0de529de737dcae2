"""Do the ranker's large-catalog features cost accuracy? MovieLens-100K's `loo` protocol with
the ranker's features exact (every rank, as up to 16,384 items) against the large-catalog
summary forced on (a ladder of reference items and an exact head, as past 16,384 items).

    python benchmarks/large_catalog_features.py [--data ../shared/data/ml-100k] [--seeds 3]
                                                [--exact-ranks 512] [--exact-head 128]

The summary is switched on by lowering ``ranking.features.EXACT_RANKS`` (and ``EXACT_HEAD``)
in this process, so 1,682 items are summarised from about 280 reference items, as 100,000
are from about 8,200. The two arms alternate seed by seed (a paired run); each fit takes
minutes (the ranker fits its sources and a Transformer).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine

import homefeed.ranking.features as features
from homefeed.cli.evaluate import _embed_catalog
from homefeed.config import Settings
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.evaluator import Evaluation
from homefeed.evaluation.protocols import build_splits
from homefeed.evaluation.tuning import DEFAULT_PARAMS, factory

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"
METRICS = ["hr@10", "ndcg@10", "coverage@10", "popularity@10", "diversity@10"]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--exact-ranks", type=int, default=512, help="EXACT_RANKS in the summary arm")
    parser.add_argument("--exact-head", type=int, default=128, help="EXACT_HEAD in the summary arm")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: {args.data} is absent")
        return 0
    settings = Settings()
    data = EvalDataset.load(args.data, settings.events, None)
    evaluation = Evaluation(
        data, build_splits(data, "loo")[0], [10], _embed_catalog(settings, list(data.items.values()))
    )
    arms = {
        "exact ranks": (features.EXACT_RANKS, features.EXACT_HEAD),
        f"summary ({args.exact_ranks} / {args.exact_head})": (args.exact_ranks, args.exact_head),
    }
    found: dict[str, list[dict[str, float]]] = {arm: [] for arm in arms}
    for seed in range(args.seeds):
        for arm, (ranks, head) in arms.items():
            features.EXACT_RANKS, features.EXACT_HEAD = ranks, head
            began = time.perf_counter()
            result = evaluation.run(factory("ranker", DEFAULT_PARAMS["ranker"], seed=seed))
            found[arm].append(result.metrics)
            shown = " ".join(f"{name} {result.metrics[name]:.4f}" for name in METRICS)
            print(f"seed {seed}, {arm}: {shown} ({time.perf_counter() - began:.0f} s)", flush=True)
    print(f"\nMachine: {machine()}; {args.data}, loo, the ranker's defaults, seeds 0-{args.seeds - 1}\n")
    print("| features | " + " | ".join(METRICS) + " |")
    print("|---|" + "---|" * len(METRICS))
    for arm, runs in found.items():
        print(f"| {arm} | " + " | ".join(f"{np.mean([run[m] for run in runs]):.4f}" for m in METRICS) + " |")
    first, second = found.values()
    change = [b["ndcg@10"] - a["ndcg@10"] for a, b in zip(first, second, strict=True)]
    print(
        f"\npaired NDCG@10 change: {np.mean(change):+.4f} (per seed {', '.join(f'{c:+.4f}' for c in change)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
