"""The vector index: HNSW recall@10 against exact search, and queries/s, at 100k and 1M vectors.

    python benchmarks/ann.py [--sizes 100000,1000000] [--dimension 64] [--queries 1000] [--write]

Synthetic item vectors drawn around 1,000 cluster centres (so neighbourhoods exist, as with
real embeddings), unit-normalised; queries are fresh draws from the same clusters. Exact =
FAISS flat inner product; HNSW at the index's default M and efSearch, plus a sweep of
efSearch. Queries run one at a time on one thread (the serving pattern) and batched.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import replace_section

from homefeed.vectors import IndexConfig, VectorIndex


def vectors(count: int, dimension: int, seed: int, centres: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(seed)
    drawn = centres[rng.integers(len(centres), size=count)] + 0.35 * rng.normal(size=(count, dimension))
    drawn = drawn.astype(np.float32)
    unit: np.ndarray = drawn / np.linalg.norm(drawn, axis=1, keepdims=True)
    return unit


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dimension", type=int, default=64)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="write the full output to docs/journal/runs/")
    args = parser.parse_args()
    dimension = args.dimension
    centres = np.random.default_rng(0).normal(size=(1000, dimension)) / np.sqrt(dimension) * 2
    queries = vectors(args.queries, dimension, 1, centres)
    rows = []
    for size in [int(part) for part in args.sizes.split(",")]:
        data = vectors(size, dimension, 2, centres)
        ids = [str(n) for n in range(size)]
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        started = time.perf_counter()
        exact = VectorIndex.build(ids, data, IndexConfig(hnsw_above=size))
        exact_build = time.perf_counter() - started
        started = time.perf_counter()
        graph = VectorIndex.build(ids, data, IndexConfig(hnsw_above=0))
        graph_build = time.perf_counter() - started
        truth = [{hit.item_id for hit in hits} for hits in exact.search(queries, 10)]
        faiss.omp_set_num_threads(1)
        for label, index, ef in [("exact", exact, None), *[("hnsw", graph, ef) for ef in (32, 64, 128, 256)]]:
            if ef is not None:
                index.config = IndexConfig(hnsw_above=0, ef_search=ef)
            started = time.perf_counter()
            found = [index.search(query, 10)[0] for query in queries]
            single = len(queries) / (time.perf_counter() - started)
            recall = np.mean(
                [len({h.item_id for h in hits} & want) / 10 for hits, want in zip(found, truth, strict=True)]
            )
            rows.append(
                (
                    size,
                    label if ef is None else f"hnsw ef={ef}",
                    recall,
                    single,
                    exact_build if ef is None else graph_build,
                )
            )
            print(
                f"{size:,} {rows[-1][1]}: recall {recall:.4f}, {single:.0f} q/s", file=sys.stderr, flush=True
            )
    lines = [
        "## Vector index: HNSW against exact search",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, faiss {faiss.__version__}",
        f"- **Command:** `python benchmarks/ann.py --sizes {args.sizes} --dimension {dimension}`",
        f"- **Data:** unit vectors, {dimension} dimensions, around 1,000 clusters; {args.queries:,} queries "
        "one at a time on one thread; builds use all cores. HNSW M = 32, efConstruction = 80.",
        "",
        "| vectors | index | recall@10 vs exact | queries/s (1 thread) | build s |",
        "|---|---|---|---|---|",
    ]
    for size, label, recall, single, build in rows:
        lines.append(f"| {size:,} | {label} | {recall:.4f} | {single:,.0f} | {build:.1f} |")
    print("\n".join(lines))
    if args.write:
        replace_section("ann", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
