"""New users on MovieLens-100K (protocol P3, `cold-users`): the profile model against the
peer rows, with its defaults chosen on pseudo-new users drawn from the training users.

    python benchmarks/cold_users_ml100k.py [--data ../shared/data/ml-100k] [--write]

Step 1 holds out 10 % of the training users of each P3 split as pseudo-new users (first k
interactions known) and grid-searches the profile model on them; the 94 test users are not
touched. Step 2 scores the test users. Skips when the shared data folder is absent.
"""

from __future__ import annotations

import itertools
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine
from _ml100k import finish, load, parser

from homefeed import __version__
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.evaluator import Evaluation
from homefeed.evaluation.protocols import cold_users, pseudo_new_users
from homefeed.evaluation.tuning import DEFAULT_PARAMS, factory
from homefeed.models.profile import ProfileRecommender

KS = (0, 1, 3)
GRID = {
    "fields": [("gender", "age"), ("gender", "age", "occupation")],
    "profile_weight": [0.25, 0.5, 1.0],
    "history_weight": [0.4, 0.8],
    "trend_weight": [0.0, 0.25, 0.5, 0.75],
    "trend_days": [14.0, 30.0],
}
# the best peer row for each k and metric (../shared/bench/peers.md); targets are 1.10x
PEERS = {0: (0.1223, 0.5092), 1: (0.1288, 0.4786), 3: (0.1405, 0.4534)}
COMPARED = {
    "popularity": {},
    "profile": {},
    "profile, profile groups only": {"history_weight": 0.0},
    "profile, first events only": {"profile_weight": 0.0},
    "profile, all-time popularity (no trend)": {"trend_weight": 0.0},
    "profile, popularity and trend only": {"profile_weight": 0.0, "history_weight": 0.0},
    "itemknn": {},
    "als": {},
}


def _metrics(evaluation: Evaluation, model: str, overrides: dict[str, Any]) -> tuple[float, float]:
    params = {**DEFAULT_PARAMS[model], **overrides}
    result = evaluation.run(factory(model, params, seed=0))
    return result.metrics["recall@20"], result.metrics["ndcg@20"]


def tune(dataset: EvalDataset) -> tuple[list[str], dict[str, Any]]:
    """Mean of Recall@20 + NDCG@20 over k on pseudo-new users, for every grid point."""
    pseudo = {k: Evaluation(dataset, pseudo_new_users(cold_users(dataset, k), k), [20]) for k in KS}
    trials = []
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID, values, strict=True))
        scores = {k: _metrics(pseudo[k], "profile", params) for k in KS}
        trials.append((sum(r + n for r, n in scores.values()) / len(KS), params, scores))
    trials.sort(key=lambda trial: -trial[0])
    lines = [
        "| fields | profile weight | history weight | trend weight | trend days | "
        + " | ".join(f"k={k} R@20 / NDCG@20" for k in KS)
        + " |"
    ]
    lines.append("|" + "---|" * (5 + len(KS)))
    for _, params, scores in trials[:6]:
        cells = " | ".join(f"{r:.4f} / {n:.4f}" for r, n in scores.values())
        fields = ", ".join(params["fields"])
        weights = f"{params['profile_weight']} | {params['history_weight']}"
        trend = f"{params['trend_weight']} | {params['trend_days']:g}"
        lines.append(f"| {fields} | {weights} | {trend} | {cells} |")
    return lines, trials[0][1]


def main() -> int:
    args = parser(__doc__).parse_args()
    started = time.perf_counter()
    dataset = load(args.data)
    if dataset is None:
        return 0
    tuning, best = tune(dataset)
    defaults = ProfileRecommender().config()
    agrees = all(defaults[key] == (list(value) if key == "fields" else value) for key, value in best.items())
    rows = {name: {} for name in COMPARED}
    for k in KS:
        evaluation = Evaluation(dataset, cold_users(dataset, k), [20])
        for label, overrides in COMPARED.items():
            rows[label][k] = _metrics(evaluation, label.split(",")[0], overrides)
    header = "| model | " + " | ".join(f"k={k} Recall@20 | k={k} NDCG@20" for k in KS) + " |"
    table = [header, "|" + "---|" * (1 + 2 * len(KS))]
    for label, by_k in rows.items():
        cells = " | ".join(f"{by_k[k][0]:.4f} | {by_k[k][1]:.4f}" for k in KS)
        table.append(f"| {label} | {cells} |")
    table.append(
        "| best peer row x 1.10 (target) | "
        + " | ".join(f"{1.1 * PEERS[k][0]:.4f} | {1.1 * PEERS[k][1]:.4f}" for k in KS)
        + " |"
    )
    lines = [
        "## New users on MovieLens-100K: the profile model (P3 `cold-users`)",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}",
        f"- **Machine:** {machine()}",
        f"- **Versions:** homefeed {__version__}",
        f"- **Command:** `python benchmarks/cold_users_ml100k.py` ({time.perf_counter() - started:.0f} s)",
        "",
        "Step 1, choosing the defaults without the test users: 10 % of each split's training users "
        "are held out as pseudo-new users (first k interactions known, the rest relevant). Best grid "
        "points by the mean of Recall@20 + NDCG@20 over k = 0, 1, 3:",
        "",
        *tuning,
        "",
        f"Best: `{best}`; the model's defaults `{defaults}` "
        + ("are this point." if agrees else "differ from it: set the defaults to it and run again."),
        "",
        "Step 2, the 94 test users (profile row + first k interactions; all other items ranked):",
        "",
        *table,
    ]
    return finish("cold_users_ml100k", lines, args.write)


if __name__ == "__main__":
    raise SystemExit(main())
