"""The evaluation protocols of ``shared/data/ml-100k/PROTOCOL.md``, plus a generic temporal split.

A protocol turns a data set into :class:`Split` objects: the rows a model may be fitted
on, and for every test user the known history (model input and items to exclude), the
relevant items, and which items are ranked. Nothing outside ``fit_rows`` may reach ``fit``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from homefeed.errors import InvalidInputError
from homefeed.evaluation.dataset import EvalDataset, Interaction
from homefeed.models.data import Interactions

PROTOCOLS = ("loo", "cold-items", "cold-users", "temporal")
RATING = "interaction"


@dataclass
class TestCase:
    user_id: str
    history: list[str]  # known items, oldest first: model input and items excluded from ranking
    relevant: set[str]
    # when the page is asked for: the latest known event, else the first relevant one
    time: float | None = None


@dataclass
class Split:
    """What a model is fitted on and what it is tested on."""

    name: str
    fit_rows: list[Interaction]
    catalog: list[str]
    cases: list[TestCase]
    candidates: set[str] | None = None  # None: every catalog item
    from_history: bool = False  # test users are unknown to the model: score from history
    valid: Split | None = None
    notes: list[str] = field(default_factory=list)

    def fit_data(self) -> Interactions:
        """The fit rows as model input; every row counts once with its event weight."""
        weights = {RATING: 1.0}
        rows = ((row.user_id, row.item_id, RATING, row.timestamp) for row in self.fit_rows)
        data = Interactions.from_rows(rows, weights, self.catalog)
        data.weights = np.array([row.weight for row in self.fit_rows], dtype=np.float32)
        return data


def _by_user(rows: Iterable[Interaction]) -> dict[str, list[Interaction]]:
    grouped: dict[str, list[Interaction]] = defaultdict(list)
    for row in rows:
        grouped[row.user_id].append(row)
    return grouped


def _read_ids(path: Path, column: str) -> list[str]:
    lines = path.read_text(encoding="utf-8").split()
    if not lines or lines[0] != column:
        raise InvalidInputError(f"{path}: expected a header line {column!r}", field=column)
    return lines[1:]


def loo(dataset: EvalDataset) -> Split:
    """P1: per user the last interaction is test, the one before valid, the rest train."""
    train: list[Interaction] = []
    valid_cases: list[TestCase] = []
    test_cases: list[TestCase] = []
    for user_id, rows in _by_user(dataset.interactions).items():
        if len(rows) < 3:
            train.extend(rows[:-1])
            if len(rows) == 2:
                test_cases.append(TestCase(user_id, [rows[0].item_id], {rows[1].item_id}, rows[0].timestamp))
            continue
        train.extend(rows[:-2])
        history = [row.item_id for row in rows[:-2]]
        valid_cases.append(TestCase(user_id, history, {rows[-2].item_id}, rows[-3].timestamp))
        test_cases.append(
            TestCase(user_id, [*history, rows[-2].item_id], {rows[-1].item_id}, rows[-2].timestamp)
        )
    train.sort(key=lambda row: row.timestamp)
    catalog = list(dataset.items)
    valid = Split("loo/valid", train, catalog, valid_cases)
    return Split("loo", train, catalog, test_cases, valid=valid)


def _pick(
    dataset: EvalDataset, filename: str, column: str, pool: list[str], seed: int
) -> tuple[list[str], str]:
    path = dataset.folder / filename
    if path.exists():
        return _read_ids(path, column), f"{column}s from {path.name}"
    rng = np.random.default_rng(seed)
    size = max(1, round(0.1 * len(pool)))
    chosen = sorted(rng.choice(pool, size=size, replace=False).tolist())
    return chosen, f"{size} {column}s drawn with seed {seed} (no {filename} in the folder)"


def cold_items(dataset: EvalDataset, seed: int = 0) -> Split:
    """P2: the model never sees the cold items' interactions and must rank only them."""
    counts = dataset.item_counts()
    pool = sorted(item for item, count in counts.items() if count >= 5)
    cold, note = _pick(dataset, "cold_items.tsv", "item_id", pool, seed)
    cold_set = set(cold)
    fit = [row for row in dataset.interactions if row.item_id not in cold_set]
    cases = []
    for user_id, rows in _by_user(dataset.interactions).items():
        relevant = {row.item_id for row in rows if row.item_id in cold_set}
        if relevant:
            known = [row for row in rows if row.item_id not in cold_set]
            time = known[-1].timestamp if known else rows[0].timestamp
            cases.append(TestCase(user_id, [row.item_id for row in known], relevant, time))
    return Split("cold-items", fit, list(dataset.items), cases, candidates=cold_set, notes=[note])


def cold_users(dataset: EvalDataset, k: int, seed: int = 0) -> Split:
    """P3: users the model never saw, known by their profile and first ``k`` interactions."""
    grouped = _by_user(dataset.interactions)
    cold, note = _pick(dataset, "cold_users.tsv", "user_id", sorted(grouped), seed)
    cold_set = set(cold)
    fit = [row for row in dataset.interactions if row.user_id not in cold_set]
    cases = []
    for user_id in cold:
        rows = grouped.get(user_id, [])
        if len(rows) > k:
            cases.append(_first_k(user_id, rows, k))
    return Split(f"cold-users@k={k}", fit, list(dataset.items), cases, from_history=True, notes=[note])


def _first_k(user_id: str, rows: list[Interaction], k: int) -> TestCase:
    """A new user known by their first ``k`` interactions; the rest are relevant."""
    time = rows[k - 1].timestamp if k > 0 else rows[0].timestamp
    return TestCase(user_id, [row.item_id for row in rows[:k]], {row.item_id for row in rows[k:]}, time)


def pseudo_new_users(split: Split, k: int, share: float = 0.1, seed: int = 1) -> Split:
    """Validation for new-user models: ``share`` of ``split``'s training users, held out of
    fit and tested like P3 (first ``k`` interactions known), so tuning never sees test users."""
    grouped = _by_user(split.fit_rows)
    rng = np.random.default_rng(seed)
    held = set(rng.choice(sorted(grouped), size=max(1, round(share * len(grouped))), replace=False).tolist())
    cases = [
        _first_k(user, rows, k) for user, rows in sorted(grouped.items()) if user in held and len(rows) > k
    ]
    fit = [row for row in split.fit_rows if row.user_id not in held]
    note = f"{len(held)} training users held out as new users (seed {seed})"
    return Split(f"pseudo-new-users@k={k}", fit, split.catalog, cases, from_history=True, notes=[note])


def temporal(dataset: EvalDataset, cut_quantile: float = 0.8) -> Split:
    """A global time cut: fit on everything before it, predict each user's later items."""
    if not 0.0 < cut_quantile < 1.0:
        raise InvalidInputError("the time cut must be a quantile strictly between 0 and 1", field="cut")
    test = _temporal(dataset.interactions, cut_quantile, list(dataset.items), "temporal")
    test.valid = _temporal(test.fit_rows, cut_quantile, list(dataset.items), "temporal/valid")
    return test


def _temporal(rows: list[Interaction], quantile: float, catalog: list[str], name: str) -> Split:
    times = np.array([row.timestamp for row in rows], dtype=np.float64)
    cut = float(np.quantile(times, quantile))
    before = [row for row in rows if row.timestamp < cut]
    cases = []
    earlier = _by_user(before)
    for user_id, later in _by_user(row for row in rows if row.timestamp >= cut).items():
        history = [row.item_id for row in earlier.get(user_id, [])]
        relevant = {row.item_id for row in later} - set(history)
        if history and relevant:
            cases.append(TestCase(user_id, history, relevant, earlier[user_id][-1].timestamp))
    return Split(name, before, catalog, cases, notes=[f"time cut at the {quantile:.0%} quantile ({cut:.0f})"])


def build_splits(
    dataset: EvalDataset, protocol: str, ks_cold_users: Iterable[int] = (0, 1, 3)
) -> list[Split]:
    """The splits of one named protocol."""
    if protocol == "loo":
        return [loo(dataset)]
    if protocol == "cold-items":
        return [cold_items(dataset)]
    if protocol == "cold-users":
        return [cold_users(dataset, k) for k in ks_cold_users]
    if protocol == "temporal":
        return [temporal(dataset)]
    raise InvalidInputError(
        f"unknown protocol {protocol!r}; expected one of {list(PROTOCOLS)}", field="protocol"
    )
