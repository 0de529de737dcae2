"""How far issue #4's cold-start targets sit from what the inputs can tell: rankings that are
allowed to read the test users' own answers (on purpose), next to our models and the targets.

    python benchmarks/cold_start_ceilings.py [--data ../shared/data/ml-100k] [--write]

`cold-users`: the best single list for all 94 test users is their own picks counted (at
k = 0 every test user has at least 20 relevant items, so NDCG@20's ideal is the same for all
and this list maximises the mean exactly; at k = 1 and 3 nearly so); popularity within a
profile group, counted over all 942 other users (the other test users' answers included).
`cold-items`: the best single list of the 168 cold items; their popularity and an ALS model
when the other half of the test users' picks of them are known (two folds). None of these is
a model; they bound what a model that knows less can do. Skips when the shared data folder is absent.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine
from _ml100k import finish, item_text, load, parser

from homefeed.config import Settings
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.evaluator import Evaluation
from homefeed.evaluation.protocols import Split, TestCase, cold_items, cold_users
from homefeed.evaluation.tuning import DEFAULT_PARAMS, factory
from homefeed.models.base import Recommender, top_k
from homefeed.models.profile import profile_groups

KS = (0, 1, 3)
# best peer row per k (../shared/bench/peers.md) and cold-items' target; targets are 1.10x the rows
PEERS = {0: (0.1223, 0.5092), 1: (0.1288, 0.4786), 3: (0.1405, 0.4534)}
COLD_ITEMS_TARGET = 0.35
Scorer = Callable[[TestCase], np.ndarray]  # a case -> scores over the split's catalog


def measure(dataset: EvalDataset, split: Split, scorer: Scorer, k: int) -> tuple[float, float]:
    """Recall@k and NDCG@k of ``scorer`` through the harness: its candidates, its history
    masking, its tie rule (``top_k``) and its metrics."""
    evaluation = Evaluation(dataset, split, [k])
    scores = np.array([scorer(case) for case in split.cases], dtype=np.float64)
    scores[:, ~evaluation.allowed] = -np.inf
    for row, case in enumerate(split.cases):
        scores[row, [evaluation.index[item] for item in case.history]] = -np.inf
    values, _, _ = evaluation.measure(top_k(scores, k)[0])
    return values[f"recall@{k}"], values[f"ndcg@{k}"]


def counts(split: Split, cases: list[TestCase]) -> np.ndarray:
    """How many of ``cases`` picked each catalog item (their relevant items)."""
    index = {item: i for i, item in enumerate(split.catalog)}
    picked = Counter(index[item] for case in cases for item in case.relevant)
    values = np.zeros(len(split.catalog))
    values[list(picked)] = list(picked.values())
    return values


def group_popularity(dataset: EvalDataset, split: Split, fields: tuple[str, ...], smoothing: float) -> Scorer:
    """Share of picks within the user's profile groups among every other user (test users'
    answers included), smoothed with ``smoothing`` picks of everyone's share."""
    index = {item: i for i, item in enumerate(split.catalog)}
    picks: dict[str, np.ndarray] = {}
    for row in dataset.interactions:
        picks.setdefault(row.user_id, np.zeros(len(index)))[index[row.item_id]] += 1.0
    everyone = sum(picks.values(), np.zeros(len(index)))
    by_group: dict[str, np.ndarray] = {}
    for user_id, user_picks in picks.items():
        for group in profile_groups(dataset.users[user_id], fields):
            by_group[group] = by_group.get(group, np.zeros(len(index))) + user_picks

    def score(case: TestCase) -> np.ndarray:
        own = picks[case.user_id]
        others = everyone - own
        share = (others + 1.0) / (others.sum() + len(index))  # add-one: items nobody else picked
        total = np.zeros(len(index))
        for group in profile_groups(dataset.users[case.user_id], fields):
            within = by_group[group] - own
            total += np.log((within + smoothing * share) / (within.sum() + smoothing) / share)
        scores: np.ndarray = total + np.log(share)
        return scores

    return score


def best_single_list(split: Split) -> Scorer:
    """Every user gets the same list: the items most of the test users picked."""
    picked = counts(split, split.cases)
    return lambda case: picked


def two_folds(split: Split) -> dict[str, int]:
    """Each test user's fold (0 or 1), drawn with seed 0."""
    draws = np.random.default_rng(0).integers(0, 2, size=len(split.cases))
    return {case.user_id: int(fold) for case, fold in zip(split.cases, draws, strict=True)}


def other_half_popularity(split: Split) -> Scorer:
    """The cold items' pick counts among the test users of the other fold."""
    fold = two_folds(split)
    halves = [counts(split, [case for case in split.cases if fold[case.user_id] != f]) for f in (0, 1)]
    return lambda case: halves[fold[case.user_id]]


def other_half_als(split: Split) -> Scorer:
    """ALS (the service's settings) fitted on the training rows plus the other fold's picks of
    the cold items: the item vectors a perfect text-to-ALS map could hope to produce."""
    from implicit.als import AlternatingLeastSquares

    fold = two_folds(split)
    users = sorted({row.user_id for row in split.fit_rows} | set(fold))
    user_index = {user: i for i, user in enumerate(users)}
    item_index = {item: i for i, item in enumerate(split.catalog)}
    params = DEFAULT_PARAMS["als"]
    factors = []
    for half in (0, 1):
        pairs = [(user_index[row.user_id], item_index[row.item_id]) for row in split.fit_rows]
        pairs += [
            (user_index[case.user_id], item_index[item])
            for case in split.cases
            if fold[case.user_id] != half
            for item in case.relevant
        ]
        rows, columns = zip(*set(pairs), strict=True)
        shape = (len(users), len(item_index))
        matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)), shape)
        model = AlternatingLeastSquares(random_state=0, **params)
        model.fit(matrix, show_progress=False)
        factors.append((np.asarray(model.user_factors), np.asarray(model.item_factors)))

    def score(case: TestCase) -> np.ndarray:
        user_vectors, item_vectors = factors[fold[case.user_id]]
        scores: np.ndarray = item_vectors @ user_vectors[user_index[case.user_id]]
        return scores

    return score


def cold_users_table(dataset: EvalDataset) -> list[str]:
    splits = {k: cold_users(dataset, k) for k in KS}
    rows: dict[str, dict[int, tuple[float, float]]] = {
        "best single list (the test users' own picks counted)": {
            k: measure(dataset, s, best_single_list(s), 20) for k, s in splits.items()
        },
        "popularity within (gender, age decade), all 942 other users": {
            k: measure(dataset, s, group_popularity(dataset, s, ("gender", "age"), 1000.0), 20)
            for k, s in splits.items()
        },
        "popularity within (gender, age decade) and occupation, all 942 other users": {
            k: measure(dataset, s, group_popularity(dataset, s, ("gender", "age", "occupation"), 1000.0), 20)
            for k, s in splits.items()
        },
    }
    profile = factory("profile", DEFAULT_PARAMS["profile"], seed=0)
    rows["profile model (ours, fitted on the training users only)"] = {
        k: _run(Evaluation(dataset, s, [20]), profile, 20) for k, s in splits.items()
    }
    rows["target (1.10 x the best peer row)"] = {k: (1.1 * PEERS[k][0], 1.1 * PEERS[k][1]) for k in KS}
    header = "| ranking | " + " | ".join(f"k={k} Recall@20 | k={k} NDCG@20" for k in KS) + " |"
    table = [header, "|" + "---|" * (1 + 2 * len(KS))]
    for label, by_k in rows.items():
        table.append(f"| {label} | " + " | ".join(f"{by_k[k][0]:.4f} | {by_k[k][1]:.4f}" for k in KS) + " |")
    return table


def cold_items_table(dataset: EvalDataset) -> list[str]:
    split = cold_items(dataset)
    rows = {
        "best single list (the test users' own picks counted)": measure(
            dataset, split, best_single_list(split), 10
        ),
        "the cold items' popularity among the other half of the test users": measure(
            dataset, split, other_half_popularity(split), 10
        ),
        "ALS with the other half's picks of the cold items": measure(
            dataset, split, other_half_als(split), 10
        ),
    }
    text = item_text(dataset, Settings())
    als_text = factory("als-text", DEFAULT_PARAMS["als-text"], seed=0)
    rows["`als-text` (ours: text and metadata mapped into ALS, seed 0)"] = _run(
        Evaluation(dataset, split, [10], item_text=text), als_text, 10
    )
    table = ["| ranking | Recall@10 | NDCG@10 |", "|---|---|---|"]
    table += [f"| {label} | {recall:.4f} | {ndcg:.4f} |" for label, (recall, ndcg) in rows.items()]
    table.append(f"| target | {COLD_ITEMS_TARGET:.4f} | |")
    return table


def _run(evaluation: Evaluation, model_factory: Callable[[], Recommender], k: int) -> tuple[float, float]:
    result = evaluation.run(model_factory)
    return result.metrics[f"recall@{k}"], result.metrics[f"ndcg@{k}"]


def main() -> int:
    args = parser(__doc__).parse_args()
    started = time.perf_counter()
    dataset = load(args.data)
    if dataset is None:
        return 0
    users = cold_users_table(dataset)
    items = cold_items_table(dataset)
    lines = [
        "## Cold start: how far the targets sit from what the inputs tell (issue #4)",
        "",
        f"- **Date:** {datetime.now(UTC).date().isoformat()}; **machine:** {machine()}",
        f"- **Command:** `python benchmarks/cold_start_ceilings.py` ({time.perf_counter() - started:.0f} s)",
        "- Rows above our model's read the test users' answers on purpose; they are bounds, not models.",
        "",
        "`cold-users` (94 users; profile + first k picks):",
        "",
        *users,
        "",
        "`cold-items` (168 never-seen items, 917 users):",
        "",
        *items,
    ]
    return finish("cold_start_ceilings", lines, args.write)


if __name__ == "__main__":
    raise SystemExit(main())
