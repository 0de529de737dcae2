"""Request-time cost of the Transformer user model: encode one user's sequence and retrieve the
top items by inner product over a 100k-item catalog, on one CPU thread.

    python benchmarks/sequential_latency.py [--items 100000] [--requests 2000] [--write]

The model is trained for one epoch on synthetic sequences (latency does not depend on how well
it is trained); item text vectors are random unit vectors of the MiniLM dimension (384). The
sequence is encoded by ONNX Runtime (``inference="onnx"``, the default) and by PyTorch.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import replace_section

from homefeed.config import SequentialSettings
from homefeed.models.base import top_k
from homefeed.models.data import Interactions
from homefeed.models.sequential import SequentialRecommender
from homefeed.vectors import IndexConfig, VectorIndex

ENGINES = {"onnx": "ONNX Runtime (the default)", "torch": "PyTorch"}


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
    options = {**SequentialSettings().model_dump(), "epochs": 1, "validate_after": 0}
    model = SequentialRecommender(**options).fit(data)
    fit_seconds = time.perf_counter() - started
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    vectors = model.item_vectors()  # the item table is computed once per model version
    index = VectorIndex.build(model.item_ids, vectors, IndexConfig(hnsw_above=0))
    length = model.settings.max_length
    histories = [rng.integers(0, args.items, size=length) for _ in range(args.requests)]
    results = []
    for inference in ("onnx", "torch"):
        model.set_inference(inference)
        for retrieval in ("exact (numpy)", "HNSW (FAISS)"):
            timings = []
            for history in histories:
                begin = time.perf_counter()
                if retrieval.startswith("exact"):
                    scores = model.score_history(history, np.ones(len(history), dtype=np.float32))
                    scores = scores.astype(np.float64)
                    scores[history] = -np.inf
                    top_k(scores[None, :], args.n)
                else:
                    user = model.encode_histories([history])
                    index.search(user, args.n, exclude={model.item_ids[i] for i in history})
                timings.append((time.perf_counter() - begin) * 1000)
            label = f"{ENGINES[inference]}, {retrieval}"
            results.append((label, *np.percentile(timings[100:], [50, 95, 99])))
    lines = [
        "## Transformer user model: one request's sequence encoding + retrieval",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, torch {torch.__version__}, **1 thread**",
        f"- **Command:** `python benchmarks/sequential_latency.py --items {args.items}`",
        f"- Default model settings (max length {length}); catalog of {args.items:,} items, histories of "
        f"{length} events (the longest the model reads), top {args.n} after excluding the history, by "
        f"exact inner product or through the HNSW vector index; {args.requests:,} requests, the first "
        f"100 as warm-up. (Model fitted for one epoch in {fit_seconds:.0f} s.)",
        "",
        "| encoding, retrieval | p50 ms | p95 ms | p99 ms | target p99 |",
        "|---|---|---|---|---|",
        *[f"| {label} | {p50:.2f} | {p95:.2f} | {p99:.2f} | ≤ 5 ms |" for label, p50, p95, p99 in results],
    ]
    print("\n".join(lines))
    if args.write:
        replace_section("sequential_latency", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
