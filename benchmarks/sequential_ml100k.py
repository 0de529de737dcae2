"""The Transformer user model on MovieLens-100K: ablations (ID-only, text-only, ID + text)
on `loo` and `cold-items`, with fit time, against the best peer row.

    python benchmarks/sequential_ml100k.py [--data ../shared/data/ml-100k] [--write] [--seeds N]

Item text is the bundled all-MiniLM-L6-v2 embedding of title, year and genres (cached in a
SQLite file under the system temp folder). Skips when the shared data folder is absent.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _ml100k import finish, item_text, load, parser

from homefeed.evaluation.runner import run_protocol
from homefeed.evaluation.tuning import DEFAULT_PARAMS

BOTH = ("loo", "cold-items")
VARIANTS: dict[str, tuple[dict[str, object], tuple[str, ...]]] = {
    "ID + text": ({}, BOTH),
    "ID only": ({"use_text": False}, BOTH),
    "text only": ({"use_ids": False}, BOTH),
    "ID + text (logged order inside a second: no tie shuffling, no tie targets)": (
        {"tie_seconds": None},
        ("loo",),
    ),
    "ID + text (ties reshuffled, one target each)": ({"tie_targets": False}, ("loo",)),
    "ID + text (fixed windows, the default until 2026-11-30)": ({"shift_windows": False}, ("loo",)),
    "ID + text (seen items not masked in training)": ({"mask_seen": False}, ("loo",)),
    "ID + text (absolute positions)": ({"positions": "absolute"}, ("loo",)),
    "ID + text (max length 50)": ({"max_length": 50}, ("loo",)),
    "ID + text (max length 200, the default until 2026-11-29)": ({"max_length": 200}, ("loo",)),
}
PEER = {"hr@10": 0.2153, "ndcg@10": 0.1081}


def main() -> int:
    options = parser(__doc__)
    options.add_argument("--variants", default=";".join(VARIANTS), help="labels separated by ';'")
    options.add_argument("--seeds", type=int, default=1, help="seeds to average (mean ± std)")
    args = options.parse_args()
    started = time.perf_counter()
    dataset = load(args.data)
    if dataset is None:
        return 0
    text = item_text(dataset)

    def step(message: str, done: int, total: int) -> None:
        print(f"  [{done + 1}/{total}] {message}", file=sys.stderr, flush=True)

    rows = []
    for label in [v.strip() for v in args.variants.split(";")]:
        options, protocols = VARIANTS[label]
        params = {"sequential": {**DEFAULT_PARAMS["sequential"], **options}}
        for protocol in protocols:
            report = run_protocol(
                dataset,
                protocol,
                ["sequential"],
                [10, 20],
                params=params,
                item_text=text,
                seeds=args.seeds,
                on_step=step,
            )
            result = report.splits[0].results["sequential"]
            spread = report.splits[0].spread.get("sequential", {})
            rows.append((label, protocol, result, spread))
            print(f"  {label} on {protocol}: {result.metrics}", file=sys.stderr, flush=True)
    chosen = "" if args.variants == ";".join(VARIANTS) else f' --variants "{args.variants}"'
    lines = [
        "## The Transformer user model on MovieLens-100K",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads)",
        f"- **Command:** `python benchmarks/sequential_ml100k.py --seeds {args.seeds}{chosen}` "
        f"(total {time.perf_counter() - started:.0f} s)",
        f"- **Settings:** `{DEFAULT_PARAMS['sequential']}`; early stopping on the loo `valid` rows "
        "(on `cold-items`, on a 10 % hold-out of each user's last training item).",
        f"- **Best peer on loo:** RecBole SASRec HR@10 {PEER['hr@10']}, NDCG@10 {PEER['ndcg@10']}; "
        "issue targets 0.2368 / 0.1189.",
        "",
        "| variant | protocol | HR@10 / Recall@10 | NDCG@10 | HR@20 / Recall@20 | NDCG@20 | epochs | fit s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, protocol, result, spread in rows:
        metric = "hr" if protocol == "loo" else "recall"
        flag = " (cannot score: id order)" if any("same score" in note for note in result.notes) else ""
        keys = (f"{metric}@10", "ndcg@10", f"{metric}@20", "ndcg@20")
        values = [
            f"{result.metrics[key]:.4f}" + (f" ± {spread[key]:.4f}" if key in spread else "") for key in keys
        ]
        lines.append(
            f"| {label}{flag} | {protocol} | "
            + " | ".join(values)
            + f" | {result.params.get('epochs')} max | {result.fit_seconds:.0f} |"
        )
    return finish("sequential_ml100k", lines, args.write)


if __name__ == "__main__":
    raise SystemExit(main())
