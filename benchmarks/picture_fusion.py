"""What item pictures add to the item representation (issue #31): text alone against text and
pictures fused (``HOMEFEED_IMAGE_MODEL``), on the synthetic set, where a picture's colour is
its item's topic.

    python benchmarks/picture_fusion.py [--users 600] [--items 500] [--seeds 2] [--share 0.3] [--write]

No CLIP weights are on this machine and nothing is downloaded, so the image model is the
random-weight CLIP the tests build (``tests/tiny_clip.py``): it tells colours apart and knows
nothing else. The figures therefore measure the fusion's plumbing and its trade (what the
share of the vector given to pictures costs or gains), not what a trained CLIP would see in
real pictures. Two catalogs:
- **words tell the topic**: the generator's titles, categories, tags and texts;
- **words say nothing**: every item titled "Item N", no category, tags or text.
Per catalog and item vectors: ``cold-items`` Recall@10 of `als-text` (the text-to-behaviour map
behind new-item placement) and of the Transformer (its item tower reads the vectors), means
over ``--seeds``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.tiny_clip
from _docs import machine, replace_section
from tests.tiny_clip import build_tiny_clip

from homefeed.config import Settings
from homefeed.datasets.synth import SynthConfig, generate, load_ground_truth
from homefeed.encoders.cache import embed_items
from homefeed.encoders.loading import configured_encoder, configured_template
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.evaluator import Evaluation
from homefeed.evaluation.protocols import build_splits
from homefeed.evaluation.tuning import DEFAULT_PARAMS, factory

MODELS = ("als-text", "sequential")
COLOURS = ((214, 39, 40), (44, 160, 44), (31, 119, 180), (255, 127, 14), (148, 103, 189), (140, 86, 75))


def _pictures(folder: Path, truth: dict[str, object]) -> None:
    """A PNG per item in folder/media: its topic's colour, with noise."""
    from PIL import Image

    media = folder / "media"
    media.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    topics: dict[str, int] = truth["item_topic"]  # type: ignore[assignment]
    for item_id, topic in topics.items():
        rgb = np.array(COLOURS[topic % len(COLOURS)])
        pixels = np.clip(rgb + rng.normal(0, 20, size=(48, 48, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(media / f"{item_id}.png")


def _catalog(folder: Path, silent: bool) -> None:
    """Point each item at its picture; with ``silent``, strip every word that tells its topic."""
    path = folder / "items.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for number, row in enumerate(rows):
        row["image"] = f"{row['id']}.png"
        if silent:
            row.update(title=f"Item {number + 1}", text="", tags=[], category=None, attributes={})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def _recall(dataset: EvalDataset, vectors: np.ndarray, model: str, seeds: int) -> float:
    split = build_splits(dataset, "cold-items")[0]
    evaluation = Evaluation(dataset, split, [10], vectors)
    runs = [evaluation.run(factory(model, DEFAULT_PARAMS[model], seed=seed)).metrics for seed in range(seeds)]
    return float(np.mean([metrics["recall@10"] for metrics in runs]))


def main() -> int:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--users", type=int, default=600)
    options.add_argument("--items", type=int, default=500)
    options.add_argument("--seeds", type=int, default=2)
    options.add_argument("--share", type=float, default=0.3, help="HOMEFEED_IMAGE_SHARE")
    options.add_argument("--write", action="store_true", help="write docs/journal/runs/picture_fusion.md")
    args = options.parse_args()
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        clip = build_tiny_clip(root / "clip")
        for label, silent in (("words tell the topic", False), ("words say nothing", True)):
            folder = root / ("silent" if silent else "telling")
            generate(SynthConfig(users=args.users, items=args.items, days=30, topics=6, seed=0), folder)
            _pictures(folder, load_ground_truth(folder))
            _catalog(folder, silent)
            text_only = Settings(data_dir=root, text_backend="torch")
            fused = text_only.model_copy(
                update={"image_model": str(clip), "image_share": args.share, "media_dir": folder / "media"}
            )
            dataset = EvalDataset.load(folder, text_only.events)
            items = list(dataset.items.values())
            for vectors_label, settings in (("text", text_only), ("text + pictures", fused)):
                vectors = embed_items(
                    items, configured_encoder(settings), None, configured_template(settings)
                )
                recalls = {model: _recall(dataset, vectors, model, args.seeds) for model in MODELS}
                rows.append((label, vectors_label, vectors.shape[1], recalls))
                print(label, vectors_label, recalls, flush=True)
    lines = [
        "## Pictures fused into the item vectors (`cold-items`, synthetic, tiny random CLIP)",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {machine()}",
        f"- **Command:** `python benchmarks/picture_fusion.py --users {args.users} --items {args.items} "
        f"--seeds {args.seeds} --share {args.share}` ({time.perf_counter() - started:.0f} s)",
        "- Pictures: one colour per topic. Image model: the random-weight CLIP of `tests/tiny_clip.py` "
        "(no trained weights here). Text: the bundled MiniLM through the `torch` backend.",
        "",
        "| catalog | item vectors | dimension | cold-items R@10: als-text | Transformer |",
        "|---|---|---|---|---|",
    ]
    for label, vectors_label, dimension, recalls in rows:
        cells = " | ".join(f"{recalls[model]:.4f}" for model in MODELS)
        lines.append(f"| {label} | {vectors_label} | {dimension} | {cells} |")
    text = "\n".join(lines)
    print(text)
    if args.write:
        replace_section("picture_fusion", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
