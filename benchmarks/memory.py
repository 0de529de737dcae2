"""Peak memory and time of fitting each model at 20,000 and 100,000 items: none may hold a
dense items-by-items matrix (item-kNN did: 11.9 GB at 17,600 items), and EASE, which must,
refuses above its limit.

    python benchmarks/memory.py [--items 20000,100000] [--models itemknn,als,...] [--write]

The data are synthetic, made here with numpy (a catalog in 50 topics with Zipf popularity
inside each, every user drawn to one or two topics, 20 events per user, as many users as
items), so the sizes are exact and nothing is read from disk. Each fit runs in a fresh
process; its peak resident memory (VmHWM) includes the data (reported alone as "data").
The Transformer is stopped after ``--transformer-seconds`` of training (also as the ranker's
source): its largest tensors are those of the first batches, so its peak is reached by then.
The ranker fits all its sources and then LightGBM, so it is the slowest row.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine, replace_section

from homefeed.config import Settings
from homefeed.errors import TooLargeError
from homefeed.models.data import Interactions
from homefeed.threads import limit_threads
from homefeed.training.registry import build_model, ranker_sources

EVENTS_PER_USER = 20
TOPICS = 50
MODELS = "data,popularity,covisitation,itemknn,als,profile,sequential,ease"


def synthetic(n_items: int, seed: int = 0) -> Interactions:
    """``n_items`` items and as many users, 20 events each, with planted topics."""
    rng = np.random.default_rng(seed)
    n_users = n_items
    topic_of = rng.integers(0, TOPICS, n_items)
    tastes = rng.integers(0, TOPICS, (n_users, 2))  # each user's two topics (maybe the same)
    topics = tastes[np.arange(n_users)[:, None], rng.integers(0, 2, (n_users, EVENTS_PER_USER))].ravel()
    items = np.empty(len(topics), dtype=np.int64)
    draws = rng.random(len(topics))
    for topic in range(TOPICS):
        members = np.flatnonzero(topic_of == topic)
        cdf = np.cumsum(1.0 / np.arange(1, len(members) + 1) ** 1.1)
        chosen = topics == topic
        picks = np.searchsorted(cdf / cdf[-1], draws[chosen])
        items[chosen] = members[np.minimum(picks, len(members) - 1)]
    users = np.repeat(np.arange(n_users), EVENTS_PER_USER)
    times = np.sort(rng.random((n_users, EVENTS_PER_USER)), axis=1).ravel()
    timestamps = 1_700_000_000.0 + times * 30 * 86_400
    return Interactions(
        user_ids=[f"u{i}" for i in range(n_users)],
        item_ids=[f"i{i}" for i in range(n_items)],
        users=users,
        items=items,
        weights=np.ones(len(users), dtype=np.float32),
        timestamps=timestamps,
    )


def peak_bytes() -> int:
    """This process's peak resident memory so far (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def fit_once(name: str, n_items: int, transformer_seconds: float) -> dict[str, Any]:
    """Fit model ``name`` on the synthetic set, in this process: seconds, peak bytes, result."""
    limit_threads(0)
    data = synthetic(n_items)
    started = time.perf_counter()
    outcome = "fitted"
    if name != "data":
        capped = {"max_seconds": transformer_seconds, "use_text": False, "epochs": 1}
        options: dict[str, Any] = {}
        if name == "sequential":
            options = capped
        if name == "ranker":  # its Transformer source capped the same way
            sources = ranker_sources(Settings())
            options = {"sources": {**sources, "sequential": {**sources["sequential"], **capped}}}
        model = build_model(name, Settings(), **options)
        try:
            model.fit(data)
        except TooLargeError as error:
            outcome = f"refused: {str(error).split(';')[0]}"
    return {"seconds": time.perf_counter() - started, "peak": peak_bytes(), "outcome": outcome}


def run(name: str, n_items: int, transformer_seconds: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", name, "--items", str(n_items)]
    command += ["--transformer-seconds", str(transformer_seconds)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {
            "seconds": float("nan"),
            "peak": 0,
            "outcome": f"failed: {done.stderr.strip().splitlines()[-1]}",
        }
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--items", default="20000,100000", help="catalog sizes, comma-separated")
    options.add_argument("--models", default=MODELS, help="models to fit (data: only the data)")
    options.add_argument("--transformer-seconds", type=float, default=60.0)
    options.add_argument("--one", default=None, help=argparse.SUPPRESS)  # one fit, in this process
    options.add_argument("--write", action="store_true", help="write the output to docs/journal/runs/")
    args = options.parse_args()
    if args.one is not None:
        print(json.dumps(fit_once(args.one, int(args.items), args.transformer_seconds)))
        return 0
    sizes = [int(part) for part in args.items.split(",")]
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    lines = [
        "## Memory: peak resident memory of fitting each model, by catalog size",
        "",
        f"{datetime.now(UTC):%Y-%m-%d}, {machine()}.",
        f"`python benchmarks/memory.py --items {args.items} --models {args.models}`: synthetic data, "
        f"{EVENTS_PER_USER} events per user, as many users as items; each fit a fresh process, "
        "threads by default; the Transformer (alone and in the ranker) stopped after "
        f"{args.transformer_seconds:.0f} s of training. "
        "A dense float32 items-by-items matrix would be "
        + ", ".join(f"{4 * n * n / 2**30:.1f} GiB at {n:,}" for n in sizes)
        + " items.",
        "",
        "| model | " + " | ".join(f"{n:,} items: peak GiB | s" for n in sizes) + " |",
        "|---|" + "---:|---:|" * len(sizes),
    ]
    for name in names:
        cells = []
        for n in sizes:
            found = run(name, n, args.transformer_seconds)
            note = "" if found["outcome"] == "fitted" else f" ({found['outcome']})"
            cells.append(f"{found['peak'] / 2**30:.2f}{note} | {found['seconds']:.0f}")
            print(f"{name} at {n:,} items: {found}", file=sys.stderr, flush=True)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    if args.write:
        replace_section("memory", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
