"""Request-time cost of the Transformer user model: encode one user's sequence and retrieve the
top items by inner product over a 100k-item catalog, on one CPU thread.

    python benchmarks/sequential_latency.py [--items 100000] [--requests 2000] [--write]

The model is trained for one epoch on synthetic sequences (latency does not depend on how well
it is trained); item text vectors are random unit vectors of the MiniLM dimension (384).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import replace_section

from homefeed.models.base import top_k
from homefeed.models.data import Interactions
from homefeed.models.sequential import SequentialRecommender


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = [
        (f"u{user}", f"i{item}", "click", float(step))
        for user in range(args.users)
        for step, item in enumerate(rng.integers(0, args.items, size=30))
    ]
    data = Interactions.from_rows(rows, {"click": 1.0}, [f"i{i}" for i in range(args.items)])
    text = rng.normal(size=(args.items, 384)).astype(np.float32)
    data.item_text = text / np.linalg.norm(text, axis=1, keepdims=True)
    started = time.perf_counter()
    model = SequentialRecommender(max_length=50, stride=10, epochs=1, batch_size=64).fit(data)
    fit_seconds = time.perf_counter() - started
    torch.set_num_threads(1)
    model.item_vectors()  # the item table is computed once per model version
    histories = [rng.integers(0, args.items, size=50) for _ in range(args.requests)]
    timings = []
    for history in histories:
        begin = time.perf_counter()
        scores = model.score_history(history, np.ones(len(history), dtype=np.float32)).astype(np.float64)
        scores[history] = -np.inf
        top_k(scores[None, :], args.n)
        timings.append((time.perf_counter() - begin) * 1000)
    p50, p95, p99 = np.percentile(timings[100:], [50, 95, 99])
    lines = [
        "## Transformer user model: one request's sequence encoding + retrieval",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, torch {torch.__version__}, **1 thread**",
        f"- **Command:** `python benchmarks/sequential_latency.py --items {args.items}`",
        f"- Catalog of {args.items:,} items, history of 50 events, top {args.n} by exact inner product "
        f"(numpy) after excluding the history; {args.requests:,} requests, the first 100 as warm-up. "
        f"(Model fitted for one epoch in {fit_seconds:.0f} s.)",
        "",
        "| p50 ms | p95 ms | p99 ms | target p99 |",
        "|---|---|---|---|",
        f"| {p50:.2f} | {p95:.2f} | {p99:.2f} | ≤ 5 ms |",
    ]
    print("\n".join(lines))
    if args.write:
        replace_section("sequential_latency", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
