"""The ranker's retrieval in a large catalog with its vector sources searched in the indexes
training chose for them, against every source scoring every item: time per retrieval and how
many of the same candidates each finds, paired in one process.

    python benchmarks/ranker_search.py --data-dir DIR [--users 300]

DIR is a data folder whose served version has a ranker trained over more than 16,384 items
(`homefeed train --model ...,ranker`). Users are drawn from the ranker's training sequences;
for each, both ways run one after the other, in alternating order, over two rounds, and the
second round is reported (the first warms both up).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine

from homefeed.models.base import UserQuery
from homefeed.ranking.ltr import RankerRecommender
from homefeed.training.versions import load_latest


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--n", type=int, default=50, help="candidates per retrieval")
    args = parser.parse_args()
    ranker = load_latest(args.data_dir / "models").find("ranker")
    if not isinstance(ranker, RankerRecommender):
        raise SystemExit(f"{args.data_dir}: the served version has no ranker")
    chosen = ranker.report.get("indexes", {})
    searched = dict(ranker._searched)  # as training chose: an index, or None (every item scored)
    dense = {name: (model, None) for name, (model, _) in searched.items()}
    rng = np.random.default_rng(0)
    users = rng.choice(len(ranker.sequences), min(args.users, len(ranker.sequences)), replace=False)
    allowed = np.ones(ranker.n_items, dtype=bool)
    times: dict[str, list[float]] = {"searched": [], "every item": []}
    overlap = {10: [], args.n: []}
    for round_ in (0, 1):
        for user in users.tolist():
            items = ranker.sequences[user]
            if len(items) == 0:
                continue
            query = UserQuery(items, np.ones(len(items), dtype=np.float32))
            found = {}
            for way in ("searched", "every item")[:: 1 if (user + round_) % 2 else -1]:
                ranker._searched = searched if way == "searched" else dense
                started = time.perf_counter()
                found[way] = ranker.retrieve(query, allowed, args.n).indices.tolist()
                if round_:
                    times[way].append((time.perf_counter() - started) * 1000)
            if round_:
                for k, shares in overlap.items():
                    same = set(found["searched"][:k]) & set(found["every item"][:k])
                    shares.append(len(same) / max(1, min(k, len(found["every item"]))))
    print(f"Machine: {machine()}; {ranker.n_items:,} items; {len(times['searched'])} users")
    for name, choice in chosen.items():
        widths = ", ".join(f"{width}: {share:.4f}" for width, share in choice["widths"].items())
        print(f"- {name}: {choice['index']} ({widths}); searched: {choice['searched']}")
    print("\n| retrieval | mean ms | p50 ms | p99 ms |\n|---|---|---|---|")
    for way, values in times.items():
        v = np.array(values)
        print(f"| {way} | {v.mean():.2f} | {np.median(v):.2f} | {np.percentile(v, 99):.2f} |")
    print("\n" + ", ".join(f"same top {k}: {np.mean(shares):.3f}" for k, shares in overlap.items()))


if __name__ == "__main__":
    main()
