"""The ``new-items`` homepage source on MovieLens-100K ``cold-items``: how well the map from item
text and metadata into the ALS space ranks items nobody has interacted with, and what its
floor (``homepage.new_items_floor``) lets through.

    python benchmarks/new_items_ml100k.py [--data ../shared/data/ml-100k] [--write] [--seeds 3]

Fits ALS (the service's settings) on the protocol's training rows, then the bundle's new-item
map (``models/new_items.py``) exactly as ``train_bundle`` does, with the service's text backend.
Each test user is scored the way a page is built: the user's vector folded in from their
history, against the mapped vectors of the 168 cold items. Reported per floor: how many cold
items a user's vector rates at or above it, the share of relevant and of other cold items that
pass, and Recall@10 of what the source would propose (the passing items, best first).
Skips when the shared data folder is absent.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine
from _ml100k import finish, item_text, load, parser

from homefeed.config import Settings
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.protocols import build_splits
from homefeed.live.new_items import NewItemVectors
from homefeed.models.als import AlsRecommender
from homefeed.models.new_items import fit_new_item_map

FLOORS = (None, -0.5, 0.0, 0.5, 1.0)


def measure(dataset: EvalDataset, text: np.ndarray, settings: Settings, seed: int) -> dict[str, list[float]]:
    """Per floor: [items passing per user, relevant pass rate, other pass rate, Recall@10]."""
    split = build_splits(dataset, "cold-items")[0]
    data = split.fit_data()
    position = {item_id: row for row, item_id in enumerate(dataset.items)}
    data.item_text = text[[position[item_id] for item_id in data.item_ids]]
    data.item_fields = [dataset.items[item_id] for item_id in data.item_ids]
    als = AlsRecommender(**{**settings.als.model_dump(), "seed": seed}).fit(data)
    mapped = fit_new_item_map({"als": als}, data, recent_days=None)  # every cold item is new here
    assert mapped is not None
    cold = set(mapped.item_ids)
    vectors = NewItemVectors(
        "benchmark", mapped, {item_id for item_id in als.item_ids if item_id not in cold}
    )
    candidates = split.candidates or cold
    columns = [row for row, item_id in enumerate(mapped.item_ids) if item_id in candidates]
    ids = [mapped.item_ids[row] for row in columns]
    table = mapped.vectors[columns]
    results: dict[str, list[list[float]]] = {str(floor): [] for floor in FLOORS}
    for case in split.cases:
        history = np.array([als.item_index(item) for item in case.history], dtype=np.int64)
        user = als.user_vector(history, np.ones(len(history), dtype=np.float32))
        scores = table @ user
        standardized = vectors.standardized(scores, user)
        relevant = np.array([item in case.relevant for item in ids])
        order = np.argsort(-scores, kind="stable")
        for floor in FLOORS:
            passing = np.ones(len(ids), dtype=bool) if floor is None else standardized >= floor
            proposed = [row for row in order if passing[row]][:10]
            recall = relevant[proposed].sum() / max(relevant.sum(), 1)
            other = ~relevant
            results[str(floor)].append(
                [
                    passing.sum(),
                    passing[relevant].mean() if relevant.any() else np.nan,
                    passing[other].mean() if other.any() else np.nan,
                    recall,
                ]
            )
    return {floor: np.nanmean(np.array(rows), axis=0).tolist() for floor, rows in results.items()}


def main() -> int:
    options = parser(__doc__)
    options.add_argument("--seeds", type=int, default=3, help="ALS seeds to average")
    args = options.parse_args()
    dataset = load(args.data)
    if dataset is None:
        return 0
    started = time.perf_counter()
    settings = Settings()
    text = item_text(dataset, settings)
    runs = [measure(dataset, text, settings, seed) for seed in range(args.seeds)]
    mean = {floor: np.mean([run[floor] for run in runs], axis=0) for floor in runs[0]}
    lines = [
        "## New items on the homepage: the text-to-ALS map and its floor (`cold-items`)",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {machine()}",
        f"- **Command:** `python benchmarks/new_items_ml100k.py --seeds {args.seeds}` "
        f"({time.perf_counter() - started:.0f} s)",
        f"- Text: {settings.text_model} through the `{settings.text_backend}` backend (the service's). "
        "ALS with the service's settings, fitted on the protocol's training rows; the map and the "
        "floor exactly as served. Users are folded in from their history (weight 1 each), as on "
        f"a page; the 168 cold items are ranked. Mean over {args.seeds} ALS seeds.",
        "",
        "| floor (standard deviations) | cold items passing per user | relevant passing | "
        "others passing | Recall@10 of what passes |",
        "|---|---|---|---|---|",
    ]
    for floor, (count, relevant, other, recall) in mean.items():
        label = "none" if floor == "None" else floor
        lines.append(f"| {label} | {count:.1f} | {relevant:.1%} | {other:.1%} | {recall:.4f} |")
    return finish("new_items_ml100k", lines, args.write)


if __name__ == "__main__":
    raise SystemExit(main())
