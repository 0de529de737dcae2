"""The Transformer's fit on MovieLens-100K at 1 and 2 threads (``HOMEFEED_THREADS``), alone
and beside a competing CPU-bound process: wall and CPU seconds for the same epochs, the
figures behind the default of the ``threads`` setting.

    python benchmarks/threads.py [--data ../shared/data/ml-100k] [--epochs 5] [--threads 1,2,0] [--write]

Each run is a fresh process (thread pools are sized per process); the competitor is a busy
Python loop, one process. Rounds repeat every setting, so drift on a shared machine falls on
all of them. Skips when the data is absent.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine
from _ml100k import available, finish, item_text, load, parser

from homefeed.config import Settings
from homefeed.models.data import Interactions
from homefeed.models.sequential import SequentialRecommender
from homefeed.threads import available_cores, idle_cores, limit_threads

BUSY = "while True: pass"


def fit_once(folder: Path, epochs: int, threads: int) -> dict[str, float]:
    """Fit the default Transformer for ``epochs`` epochs on ``threads`` threads, in this process."""
    used = limit_threads(threads)
    dataset = load(folder)
    assert dataset is not None
    text = item_text(dataset)
    rows = [(row.user_id, row.item_id, "click", row.timestamp) for row in dataset.interactions]
    data = Interactions.from_rows(rows, Settings().event_weights, list(dataset.items))
    data.item_text = text
    model = SequentialRecommender(epochs=epochs, validate_after=epochs + 1, seed=0)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    model.fit(data)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"threads": used, "wall": wall, "cpu": cpu}


def run(folder: Path, epochs: int, threads: int) -> dict[str, float]:
    """One fit in a fresh process."""
    command = [sys.executable, __file__, "--data", str(folder), "--epochs", str(epochs)]
    done = subprocess.run([*command, "--one", str(threads)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the run at {threads} thread(s) failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def quiet(most: float = 120.0) -> None:
    """Wait (at most ``most`` seconds) until the machine is idle: a run alone is alone."""
    deadline = time.monotonic() + most
    while time.monotonic() < deadline and idle_cores(1.0) < available_cores():
        time.sleep(2)


def main() -> int:
    options = parser(__doc__)
    options.add_argument("--epochs", type=int, default=5)
    options.add_argument("--threads", default="1,2,0", help="thread counts to compare (0: the default)")
    options.add_argument("--rounds", type=int, default=2, help="rounds of every setting")
    options.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # one run, here
    args = options.parse_args()
    if not available(args.data):
        return 0
    if args.one is not None:
        print(json.dumps(fit_once(args.data, args.epochs, args.one)))
        return 0
    counts = [int(part) for part in args.threads.split(",")]
    item_text(load(args.data))  # type: ignore[arg-type]  # embed once before timing anything
    found: dict[tuple[bool, int], list[dict[str, float]]] = {}
    for _ in range(args.rounds):
        for competing in (False, True):
            if not competing:
                quiet()
            rival = subprocess.Popen([sys.executable, "-c", BUSY]) if competing else None
            try:
                for threads in counts:
                    result = run(args.data, args.epochs, threads)
                    found.setdefault((competing, threads), []).append(result)
            finally:
                if rival is not None:
                    rival.kill()
                    rival.wait()
    lines = [
        "## Threads: the Transformer's fit on 1 or 2 threads and by default, alone and beside a busy process",
        "",
        f"{datetime.now(UTC):%Y-%m-%d}, {machine()}; {available_cores()} cores available to the process.",
        f"`python benchmarks/threads.py --epochs {args.epochs} --rounds {args.rounds}`: the default "
        f"Transformer on all of MovieLens-100K, {args.epochs} epochs (no validation), each run a fresh "
        "process; a round runs every setting alone (once the machine was idle), then beside one "
        "busy loop; mean of the rounds (each round's value in brackets). Default: "
        "`HOMEFEED_THREADS=0`, with the threads it chose.",
        "",
        "| competing process | threads | wall s | CPU s |",
        "|---|---|---:|---:|",
    ]
    for (competing, threads), runs in found.items():
        walls = [r["wall"] for r in runs]
        cpus = [r["cpu"] for r in runs]
        chosen = ", ".join(str(int(r["threads"])) for r in runs)
        label = f"default (chose {chosen})" if threads == 0 else str(threads)
        lines.append(
            f"| {'one busy loop' if competing else 'none'} | {label} | "
            f"{sum(walls) / len(walls):.1f} ({', '.join(f'{w:.1f}' for w in walls)}) | "
            f"{sum(cpus) / len(cpus):.1f} ({', '.join(f'{c:.1f}' for c in cpus)}) |"
        )
    return finish("threads", lines, args.write)


if __name__ == "__main__":
    raise SystemExit(main())
