"""How each stage's cost grows with the work (issue #28): the whole path (generate, import,
train, one page) at several sizes of the synthetic set, each stage a fresh process run as an
operator would run it.

    python benchmarks/scale.py [--sizes 100k,1m] [--models popularity,profile,covisitation,als]
                               [--pages 200] [--keep DIR] [--write]
                               [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

A size is the number of events. The generator is scaled with it: 1 user per 20 events (30
days at the generator's 0.6 events a user a day, spread by activity) and 1 item per 100
events, so a 10M-event set has 500,000 users and 100,000 items. Per stage and size: wall time,
peak resident memory of the stage's process, and for every stage the growth exponent, the
slope of log cost against log events between the smallest and the largest size (1: linear).
``page`` is the in-process cost of one homepage of 50 (``benchmarks/page_cost.py``'s
measure) over ``--pages`` random users, after 100 warm-up pages. With ``--postgres`` (a server
whose user may create databases) the same files are also imported into a fresh PostgreSQL
database (``import (PostgreSQL)``); every other stage runs on SQLite.

``--write`` also keeps the figures (docs/journal/runs/scale.json) and draws them
(docs/images/scale.png: seconds against events on log axes, one line per stage, beside a slope
of 1); ``--plot`` draws that file again without running anything.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import RUNS, machine, replace_section

from homefeed.store import scratch_database

EVENTS_PER_USER, EVENTS_PER_ITEM = 20, 100
FIGURES = RUNS / "scale.json"
PLOT = RUNS.parents[1] / "images" / "scale.png"
# a stage's process reports its own peak memory (kB on Linux) when it exits
PEAK = (
    "import resource, runpy, sys\n"
    "sys.argv = ['homefeed', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('homefeed.cli', run_name='__main__')\n"
    "finally:\n"
    "    print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)
PAGE = (
    "import resource, sys\n"
    "sys.path.insert(0, {benchmarks!r})\n"
    "from pathlib import Path\n"
    "from page_cost import measure\n"
    "times = measure(Path({data_dir!r}), {pages}, False)['as trained']\n"
    "print('PAGE_MS', sum(times) / len(times), sorted(times)[int(0.99 * len(times))])\n"
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


@dataclass
class Cost:
    seconds: float
    peak_mb: float
    note: str = ""


def size_of(text: str) -> int:
    """``100k``, ``1m``, ``10m`` or a plain number of events."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * scale)


def _run(args: list[str], env: dict[str, str], code: str = PEAK) -> tuple[Cost, str]:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args) or 'page'} failed:\n{done.stderr[-3000:]}")
    peaks = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("PEAK_KB")]
    return Cost(seconds, int(peaks[-1]) / 1024 if peaks else float("nan")), done.stdout


def measure_size(events: int, root: Path, models: str, pages: int, postgres: str | None) -> dict[str, Cost]:
    users, items = max(50, events // EVENTS_PER_USER), max(20, events // EVENTS_PER_ITEM)
    folder, data_dir = root / "synth", root / "data"
    env = {**os.environ, "HOMEFEED_DATA_DIR": str(data_dir), "HOMEFEED_MODEL_POLL_SECONDS": "0"}
    costs: dict[str, Cost] = {}
    synth = ["datasets", "synth", "--out", str(folder), "--users", str(users), "--items", str(items)]
    costs["generate"], _ = _run([*synth, "--days", "30"], env)
    written = sum(1 for _ in (folder / "events.jsonl").open(encoding="utf-8"))
    costs["generate"].note = f"{written:,} events, {users:,} users, {items:,} items"
    _run(["init"], env)
    costs["import"], _ = _run(["import", "dataset", str(folder)], env)
    if postgres is not None:
        with scratch_database(postgres, "homefeed_scale") as url:
            elsewhere = {**env, "HOMEFEED_DATA_DIR": str(root / "pg"), "HOMEFEED_DATABASE_URL": url}
            _run(["init"], elsewhere)
            costs["import (PostgreSQL)"], _ = _run(["import", "dataset", str(folder)], elsewhere)
    costs["train"], _ = _run(["train", "--model", models], env)
    benchmarks = str(Path(__file__).resolve().parent)
    code = PAGE.format(benchmarks=benchmarks, data_dir=str(data_dir), pages=pages)
    costs["page"], out = _run([], env, code)
    mean, p99 = (
        float(part) for part in next(line for line in out.splitlines() if "PAGE_MS" in line).split()[1:]
    )
    costs["page"] = Cost(mean / 1000, costs["page"].peak_mb, f"p99 {p99:.1f} ms")
    return costs


def exponent(sizes: list[int], seconds: list[float]) -> float:
    """The slope of log cost against log size, least squares over all sizes."""
    if len(sizes) < 2:
        return math.nan
    slope, _ = np.polyfit(np.log(sizes), np.log(seconds), 1)
    return float(slope)


def save_figures(results: dict[int, dict[str, Cost]], header: list[str], path: Path = FIGURES) -> None:
    """The run's figures as JSON: by stage, each size's seconds, peak MB and note."""
    stages = list(next(iter(results.values())))
    table = {
        stage: {str(events): vars(costs[stage]) for events, costs in results.items()} for stage in stages
    }
    path.write_text(json.dumps({"header": header, "stages": table}, indent=1) + "\n", encoding="utf-8")


def plot(figures: Path = FIGURES, out: Path = PLOT) -> None:
    """Seconds against events, log-log, one line per stage and a dotted slope of 1 through each
    stage's smallest size: a stage whose line climbs more steeply grows faster than the work."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    saved = json.loads(figures.read_text(encoding="utf-8"))
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    for stage, by_size in saved["stages"].items():
        sizes = sorted(int(events) for events in by_size)
        seconds = [by_size[str(events)]["seconds"] for events in sizes]
        slope = exponent(sizes, seconds)
        (line,) = axes.plot(sizes, seconds, marker="o", label=f"{stage} (exponent {slope:.2f})")
        linear = [seconds[0] * events / sizes[0] for events in sizes]
        axes.plot(sizes, linear, linestyle=":", color=line.get_color(), linewidth=0.8)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("events (users = events / 20, items = events / 100)")
    axes.set_ylabel("seconds (page: per homepage)")
    axes.set_title("homefeed: each stage's cost by the number of events (dotted: linear)", fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.text(0.01, 0.01, saved["header"][0], fontsize=6, color="grey")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)


def main() -> int:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--sizes", default="100k,1m", help="events per run, e.g. 100k,1m,10m")
    options.add_argument(
        "--models", default="popularity,profile,covisitation,als", help="homefeed train --model"
    )
    options.add_argument("--pages", type=int, default=200)
    options.add_argument("--keep", type=Path, help="keep each size's folders under this one")
    options.add_argument("--write", action="store_true", help="write docs/journal/runs/scale.md")
    options.add_argument("--postgres", help="also import into a fresh database on this PostgreSQL server")
    options.add_argument(
        "--plot", action="store_true", help=f"only draw {PLOT.name} again from {FIGURES.name}"
    )
    args = options.parse_args()
    if args.plot:
        plot()
        return 0
    sizes = [size_of(part) for part in args.sizes.split(",")]
    started = time.perf_counter()
    results: dict[int, dict[str, Cost]] = {}
    for events in sizes:
        if args.keep is not None:
            root = args.keep / f"{events}"
            root.mkdir(parents=True, exist_ok=True)
            results[events] = measure_size(events, root, args.models, args.pages, args.postgres)
        else:
            with tempfile.TemporaryDirectory(prefix="homefeed-scale-") as scratch:
                results[events] = measure_size(events, Path(scratch), args.models, args.pages, args.postgres)
        print(
            events,
            {stage: (round(cost.seconds, 3), round(cost.peak_mb)) for stage, cost in results[events].items()},
            flush=True,
        )
    stages = list(next(iter(results.values())))
    lines = [
        "## Scale: each stage's cost by the number of events (synthetic)",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {machine()}",
        f"- **Command:** `python benchmarks/scale.py --sizes {args.sizes} --models {args.models} "
        f"--pages {args.pages}{' --postgres URL' if args.postgres else ''}` "
        f"({time.perf_counter() - started:.0f} s)",
        f"- Users = events / {EVENTS_PER_USER}, items = events / {EVENTS_PER_ITEM}. `page`: mean in-process "
        "seconds per homepage of 50. Memory: the stage's process, at its peak.",
        "",
        "| stage | " + " | ".join(f"{events:,} events: s / MB" for events in sizes) + " | growth exponent |",
        "|---|" + "---|" * (len(sizes) + 1),
    ]
    for stage in stages:
        costs = [results[events][stage] for events in sizes]
        cells = [
            f"{cost.seconds:.4g} / {cost.peak_mb:.0f}" + (f" ({cost.note})" if cost.note else "")
            for cost in costs
        ]
        slope = exponent(sizes, [cost.seconds for cost in costs])
        lines.append(f"| {stage} | " + " | ".join(cells) + f" | {slope:.2f} |")
    print("\n".join(lines))
    if args.write:
        replace_section("scale", lines)
        save_figures(results, [lines[2][2:].replace("**", "")])
        plot()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
