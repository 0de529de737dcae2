"""In-process cost of one homepage: the service's runtime builds pages for random users, with
no HTTP in between, so a change to the page's code can be timed apart from the server.

    python benchmarks/page_cost.py [--data ../shared/data/ml-100k] [--pages 1000]
                                   [--data-dir DIR] [--pair DIR] [--compare-inference]

Without ``--data-dir`` the data is imported and the serve benchmark's models are trained into
a scratch folder first (minutes); with it, a folder that ``homefeed train`` (or an earlier run
with ``--keep``) prepared is used as it is. ``--compare-inference`` alternates pages between the
Transformer's ONNX Runtime and PyTorch encoders, so both halves see the same machine state
(this kind of VM's speed drifts by ±20 % within minutes). ``--pair DIR`` does the same with
a second trained folder (say MovieLens-100K against a catalog 60 times larger): both are opened in
this process and the pages alternate between them, so their ratio is a paired figure.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine
from serve import DEFAULT_DATA, prepare

from homefeed.config import Settings
from homefeed.models.context import RequestContext
from homefeed.service.runtime import Runtime

MODELS = ["popularity", "profile", "als", "sequential", "ranker"]


def measure(data_dir: Path, pages: int, compare: bool) -> dict[str, list[float]]:
    """Milliseconds of each page built for random users of ``data_dir`` (after 100 warm-up
    pages), by Transformer encoder when ``compare``, else under ``as trained``."""
    return measure_folders([data_dir], pages, compare)


def measure_folders(data_dirs: list[Path], pages: int, compare: bool) -> dict[str, list[float]]:
    """``measure`` over several folders at once, their pages alternated; with more than one
    folder the timings are keyed by folder name (and encoder)."""
    os.environ["HOMEFEED_MODEL_POLL_SECONDS"] = "0"
    runtimes: list[Runtime] = []
    try:
        arms: list[tuple[str, Runtime, list[str], str]] = []
        named = len({data_dir.name for data_dir in data_dirs}) == len(data_dirs)
        for data_dir in data_dirs:
            runtime = Runtime.start(Settings(data_dir=data_dir))
            runtimes.append(runtime)
            users = sorted(user.id for user in runtime.store.iter_users())  # the same on every version
            for encoder in ["onnx", "torch"] if compare else ["as trained"]:
                label = (
                    encoder
                    if len(data_dirs) == 1
                    else f"{data_dir.name if named else data_dir} {encoder}".removesuffix(" as trained")
                )
                arms.append((label, runtime, users, encoder))
        timings: dict[str, list[float]] = {label: [] for label, *_ in arms}
        rng = random.Random(0)
        for number in range(len(arms) * (100 + pages)):  # each arm's first 100 warm up
            label, runtime, users, encoder = arms[number % len(arms)]
            bundle = runtime.homepages.bundle
            if compare and bundle is not None:
                for model in bundle.models.values():
                    model.set_inference(encoder)
            user = rng.choice(users)
            began = time.perf_counter()
            runtime.homepages.build(user, 50, context=RequestContext())
            if number >= len(arms) * 100:
                timings[label].append((time.perf_counter() - began) * 1000)
        return timings
    finally:
        for runtime in runtimes:
            runtime.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--data-dir", type=Path, help="a trained data folder to use as it is")
    parser.add_argument("--keep", type=Path, help="keep the prepared data folder here")
    parser.add_argument(
        "--pair", type=Path, help="a second trained folder whose pages alternate with the first's"
    )
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--compare-inference", action="store_true")
    args = parser.parse_args()
    scratch = None
    data_dir = args.data_dir
    if data_dir is None:
        scratch = tempfile.mkdtemp(prefix="homefeed-page-cost-")
        data_dir = Path(scratch)
        began = time.perf_counter()
        *_, label = prepare(data_dir, args.data, MODELS)
        print(f"prepared {label} in {time.perf_counter() - began:.0f} s")
    try:
        folders = [data_dir] if args.pair is None else [data_dir, args.pair]
        timings = measure_folders(folders, args.pages, args.compare_inference)
    finally:
        if scratch is not None:
            if args.keep is not None:
                shutil.copytree(scratch, args.keep, dirs_exist_ok=True)
            shutil.rmtree(scratch)
    models = ", ".join(MODELS) if args.data_dir is None else "as each folder was trained"
    print(f"\nMachine: {machine()}; models: {models}; pages of 50, impressions logged")
    print("\n| folder / Transformer encoder | pages | mean ms | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for arm, values in timings.items():
        ms = np.array(values)
        print(
            f"| {arm} | {len(ms):,} | {ms.mean():.2f} | {np.percentile(ms, 50):.2f} | "
            f"{np.percentile(ms, 99):.2f} |"
        )
    if args.pair is not None and not args.compare_inference:
        first, second = (np.mean(values) for values in timings.values())
        print(f"\nmean ratio, {data_dir} over {args.pair}: {first / second:.2f}x (paired)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
