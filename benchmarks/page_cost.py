"""In-process cost of one homepage: the service's runtime builds pages for random users, with
no HTTP in between, so a change to the page's code can be timed apart from the server.

    python benchmarks/page_cost.py [--data ../shared/data/ml-100k] [--pages 1000]
                                   [--data-dir DIR] [--compare-inference]

Without ``--data-dir`` the data is imported and the serve benchmark's models are trained into
a scratch folder first (minutes); with it, a folder that ``homefeed train`` (or an earlier run
with ``--keep``) prepared is used as it is. ``--compare-inference`` alternates pages between the
Transformer's ONNX Runtime and PyTorch encoders, so both halves see the same machine state
(this kind of VM's speed drifts by ±20 % within minutes).
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
    os.environ["HOMEFEED_MODEL_POLL_SECONDS"] = "0"
    runtime = Runtime.start(Settings(data_dir=data_dir))
    try:
        users = sorted(user.id for user in runtime.store.iter_users())  # the same on every version
        bundle = runtime.homepages.bundle
        models = list(bundle.models.values()) if bundle is not None else []
        arms = ["onnx", "torch"] if compare else ["as trained"]
        timings: dict[str, list[float]] = {arm: [] for arm in arms}
        rng = random.Random(0)
        for number in range(100 + pages):  # the first 100 warm up
            arm = arms[number % len(arms)]
            if compare:
                for model in models:
                    model.set_inference(arm)
            user = rng.choice(users)
            began = time.perf_counter()
            runtime.homepages.build(user, 50, context=RequestContext())
            if number >= 100:
                timings[arm].append((time.perf_counter() - began) * 1000)
        return timings
    finally:
        runtime.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--data-dir", type=Path, help="a trained data folder to use as it is")
    parser.add_argument("--keep", type=Path, help="keep the prepared data folder here")
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
        timings = measure(data_dir, args.pages, args.compare_inference)
    finally:
        if scratch is not None:
            if args.keep is not None:
                shutil.copytree(scratch, args.keep, dirs_exist_ok=True)
            shutil.rmtree(scratch)
    print(f"\nMachine: {machine()}; models: {', '.join(MODELS)}; pages of 50, impressions logged")
    print("\n| Transformer encoder | pages | mean ms | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for arm, values in timings.items():
        ms = np.array(values)
        print(
            f"| {arm} | {len(ms):,} | {ms.mean():.2f} | {np.percentile(ms, 50):.2f} | "
            f"{np.percentile(ms, 99):.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
