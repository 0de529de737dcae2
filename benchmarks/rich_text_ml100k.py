"""What richer item text does for every text-aware model on MovieLens-100K (issue #31).

    python benchmarks/rich_text_ml100k.py [--data ../shared/data/ml-100k] [--seeds 3]
        [--plots ../shared/data/ml-100k/ml-100k.plots.tsv] [--chunk-words 100] [--write]

Three item texts, side by side, each embedded by the service's text model and backend:
- **title/year/genres**: the default template over the atomic files alone;
- **with plots, truncated**: the plots file (director, writers, actors, plot for 1,574 of
  1,682 items) read as item attributes (``--item-details``) and added to the template,
  truncated at the model's 256 word pieces (``text_chunk_words = 0``);
- **with plots, chunked**: the same text read whole, as the mean of windows of
  ``--chunk-words`` words.
Per text: ``cold-items`` Recall@10 of `als-text`, the Transformer, `text` (the user's history
in text space) and the page's new-items map (``models/new_items.py``, as served, no floor);
``loo`` HR@10 / NDCG@10 of the Transformer, `text` and the ranker. Stochastic models are
averaged over ``--seeds`` (the ranker: one seed, it is the slowest). Skips when the shared data
folder is absent.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine
from _ml100k import available, finish, item_text, parser
from new_items_ml100k import measure as new_items_measure

from homefeed.config import Settings
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.evaluator import Evaluation
from homefeed.evaluation.protocols import build_splits
from homefeed.evaluation.tuning import DEFAULT_PARAMS, factory

PLOTS_TEMPLATE = (
    "{title}. {category}. {tags}. {text}. {attr_director}. {attr_writers}. {attr_actors}. {attr_plot}"
)
COLD_ITEMS = ("als-text", "sequential", "text")
LOO = ("sequential", "text", "ranker")
SINGLE_SEED = {"ranker", "text"}  # text is deterministic; the ranker costs minutes a seed


def _run(dataset: EvalDataset, text: np.ndarray, protocol: str, model: str, seeds: int) -> list[float]:
    split = build_splits(dataset, protocol)[0]
    evaluation = Evaluation(dataset, split, [10], text)
    runs = []
    for seed in range(1 if model in SINGLE_SEED else seeds):
        metrics = evaluation.run(factory(model, DEFAULT_PARAMS[model], seed=seed)).metrics
        runs.append([metrics["recall@10"], metrics["hr@10"], metrics["ndcg@10"]])
    return np.mean(runs, axis=0).tolist()


def main() -> int:
    options = parser(__doc__)
    options.add_argument("--seeds", type=int, default=3, help="seeds to average for stochastic models")
    options.add_argument("--plots", type=Path, default=None, help="default: ml-100k.plots.tsv in --data")
    options.add_argument("--chunk-words", type=int, default=100)
    args = options.parse_args()
    if not available(args.data):
        return 0
    plots = args.plots or args.data / "ml-100k.plots.tsv"
    started = time.perf_counter()
    base = Settings()
    texts = {
        "title/year/genres": (base, None),
        "with plots, truncated": (base.model_copy(update={"item_text_template": PLOTS_TEMPLATE}), plots),
        f"with plots, chunked ({args.chunk_words} words)": (
            base.model_copy(
                update={"item_text_template": PLOTS_TEMPLATE, "text_chunk_words": args.chunk_words}
            ),
            plots,
        ),
    }
    rows = []
    for label, (settings, details) in texts.items():
        dataset = EvalDataset.load(args.data, settings.events, details)
        begun = time.perf_counter()
        text = item_text(dataset, settings)
        embed = time.perf_counter() - begun
        cold = {model: _run(dataset, text, "cold-items", model, args.seeds)[0] for model in COLD_ITEMS}
        mapped = [new_items_measure(dataset, text, settings, seed)["None"][3] for seed in range(args.seeds)]
        cold["new-items map"] = float(np.mean(mapped))
        loo = {model: _run(dataset, text, "loo", model, args.seeds)[1:] for model in LOO}
        rows.append((label, embed, cold, loo))
        print(label, f"embedded in {embed:.0f} s", cold, loo, flush=True)
    lines = [
        "## Richer item text: title/year/genres against plots, truncated or chunked (`cold-items`, `loo`)",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {machine()}",
        f"- **Command:** `python benchmarks/rich_text_ml100k.py --seeds {args.seeds} "
        f"--chunk-words {args.chunk_words}` ({time.perf_counter() - started:.0f} s)",
        f"- Text: {base.text_model} through the `{base.text_backend}` backend. With plots, the template "
        f"is `{PLOTS_TEMPLATE}` over `{plots.name}` read with `--item-details`. Means over "
        f"{args.seeds} seeds (the ranker and `text`: one).",
        "",
        "| item text | embedding (s) | cold-items R@10: als-text | Transformer | text | new-items map "
        "| loo HR@10 / NDCG@10: Transformer | text | ranker |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, embed, cold, loo in rows:
        cells = [f"{cold[name]:.4f}" for name in (*COLD_ITEMS, "new-items map")]
        cells += [f"{loo[name][0]:.4f} / {loo[name][1]:.4f}" for name in LOO]
        lines.append(f"| {label} | {embed:.0f} | " + " | ".join(cells) + " |")
    return finish("rich_text_ml100k", lines, args.write)


if __name__ == "__main__":
    raise SystemExit(main())
