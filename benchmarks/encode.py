"""Text-encoder speed and quality: PyTorch fp32 against the ONNX Runtime fast path (fp32 and
int8), in the same run, on the MovieLens-100K item texts.

    python benchmarks/encode.py [--data ../shared/data/ml-100k] [--repeats 3] [--write]

Speed: items/s encoding all 1,682 item texts (title, year, genres) with 2 threads, best of
``--repeats``. Quality: `cold-items` Recall@10 / NDCG@10 of the zero-shot text model and of
the text-to-ALS map (als-text), each fed the embeddings of that backend. Skips when the shared
data folder is absent. The issue's rule: the default backend is the fastest one that is at
least 2x fp32 and loses at most 1 % of cold-items Recall@10.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import replace_section

from homefeed.config import Settings
from homefeed.encoders.base import TextEncoder, item_text
from homefeed.encoders.loading import BACKENDS, shared_encoder
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.runner import run_protocol

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ml-100k"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the full output to docs/journal/runs/")
    args = parser.parse_args()
    if not (args.data / "ml-100k.inter").exists():
        print(f"skipped: {args.data} is absent (MovieLens-100K in the shared atomic layout is needed)")
        return 0
    torch.set_num_threads(2)
    dataset = EvalDataset.load(args.data, Settings().event_weights)
    texts = [item_text(item) for item in dataset.items.values()]
    cache = Path(tempfile.gettempdir()) / "homefeed-onnx"
    rows = []
    for backend in BACKENDS:
        encoder = shared_encoder(backend=backend, cache_dir=cache)
        encoder.encode(texts[:64])  # warm-up
        seconds = min(_timed(encoder, texts) for _ in range(args.repeats))
        vectors = encoder.encode(texts)
        report = run_protocol(dataset, "cold-items", ["text", "als-text"], [10], item_text=vectors)
        results = report.splits[0].results
        rows.append((backend, len(texts) / seconds, vectors, results))
        print(f"{backend}: {len(texts) / seconds:.0f} items/s", file=sys.stderr, flush=True)
    reference = rows[0][2]
    base_speed = rows[0][1]
    base_recall = rows[0][3]["als-text"].metrics["recall@10"]
    lines = [
        "## Text encoder: PyTorch fp32 against ONNX Runtime (fp32, int8)",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, torch {torch.__version__}, 2 threads",
        "- **Command:** `python benchmarks/encode.py`",
        f"- **Texts:** the {len(texts):,} MovieLens-100K item texts (title, year, genres); best of "
        f"{args.repeats} passes, batch 64. Quality: `cold-items`, each backend's own embeddings.",
        "",
        "| backend | items/s | x fp32 | cosine to fp32 (min / mean) | text R@10 | text NDCG@10 "
        "| als-text R@10 | als-text NDCG@10 | R@10 change |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for backend, speed, vectors, results in rows:
        agreement = (vectors * reference).sum(axis=1)
        text, mapped = results["text"].metrics, results["als-text"].metrics
        change = (mapped["recall@10"] - base_recall) / base_recall
        lines.append(
            f"| {backend} | {speed:.0f} | {speed / base_speed:.2f} | {agreement.min():.4f} / "
            f"{agreement.mean():.4f} | {text['recall@10']:.4f} | {text['ndcg@10']:.4f} | "
            f"{mapped['recall@10']:.4f} | {mapped['ndcg@10']:.4f} | {change:+.1%} |"
        )
    print("\n".join(lines))
    if args.write:
        replace_section("encode", lines)
    return 0


def _timed(encoder: TextEncoder, texts: list[str]) -> float:
    started = time.perf_counter()
    encoder.encode(texts)
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
