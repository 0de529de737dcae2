"""Protocols split exactly as written, and nothing from the test rows reaches fit."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from homefeed.config import Settings
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.evaluator import Evaluation
from homefeed.evaluation.protocols import build_splits, cold_items, cold_users, loo, temporal
from homefeed.models.data import Interactions
from homefeed.models.popularity import PopularityRecommender

from .conftest import SHARED_ML100K


def _write(folder: Path, rows: list[tuple[str, str, float]], items: int = 12) -> EvalDataset:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "items.csv").write_text(
        "id,title,category\n"
        + "".join(f"{i},Item {i},{'odd' if i % 2 else 'even'}\n" for i in range(1, items + 1)),
        encoding="utf-8",
    )
    (folder / "events.csv").write_text(
        "user_id,item_id,type,timestamp\n" + "".join(f"{u},{i},click,{t}\n" for u, i, t in rows),
        encoding="utf-8",
    )
    return EvalDataset.load(folder, Settings().event_weights)


def test_loo_takes_the_last_two_by_time_with_file_order_breaking_ties(tmp_path: Path) -> None:
    rows = [
        ("a", "1", 5.0),
        ("a", "2", 1.0),
        ("a", "3", 9.0),
        ("a", "4", 9.0),
        ("b", "5", 1.0),
        ("b", "6", 2.0),
    ]
    split = loo(_write(tmp_path, rows))
    by_user = {case.user_id: case for case in split.cases}
    assert by_user["a"].relevant == {"4"} and by_user["a"].history == ["2", "1", "3"]
    assert split.valid is not None and [c.relevant for c in split.valid.cases] == [{"3"}]
    assert sorted((r.user_id, r.item_id) for r in split.fit_rows) == [("a", "1"), ("a", "2"), ("b", "5")]
    assert by_user["b"].relevant == {"6"}  # two interactions: one to learn from, one to test


def test_cold_items_and_cold_users_read_the_id_files(tmp_path: Path) -> None:
    rows = [(u, str(i), float(10 * n + i)) for n, u in enumerate("abcd") for i in range(1, 9)]
    dataset = _write(tmp_path, rows)
    (tmp_path / "cold_items.tsv").write_text("item_id\n3\n7\n", encoding="utf-8")
    (tmp_path / "cold_users.tsv").write_text("user_id\nc\n", encoding="utf-8")
    items = cold_items(dataset)
    assert items.candidates == {"3", "7"}
    assert not {r.item_id for r in items.fit_rows} & {"3", "7"}
    assert all(case.relevant == {"3", "7"} and "3" not in case.history for case in items.cases)
    users = cold_users(dataset, 3)
    assert [case.user_id for case in users.cases] == ["c"]
    assert users.cases[0].history == ["1", "2", "3"] and users.cases[0].relevant == {
        str(i) for i in range(4, 9)
    }
    assert "c" not in {r.user_id for r in users.fit_rows} and users.from_history


def test_temporal_cuts_globally(tmp_path: Path) -> None:
    rows = [(u, str(i), float(i)) for u in "ab" for i in range(1, 11)]
    split = temporal(_write(tmp_path, rows), 0.5)
    assert max(r.timestamp for r in split.fit_rows) < min(float(i) for c in split.cases for i in c.relevant)
    assert split.valid is not None and split.valid.cases


class RecordingPopularity(PopularityRecommender):
    """A real popularity model that also keeps what it was fitted on."""

    seen: list[Interactions] = []

    def _fit(self, data: Interactions) -> None:
        RecordingPopularity.seen.append(data)
        super()._fit(data)


@pytest.mark.parametrize("protocol", ["loo", "cold-items", "cold-users", "temporal"])
def test_no_test_interaction_reaches_fit(synth_folder: Path, protocol: str) -> None:
    dataset = EvalDataset.load(synth_folder, Settings().event_weights)
    for split in build_splits(dataset, protocol):
        RecordingPopularity.seen = []
        Evaluation(dataset, split, [10]).run(lambda: RecordingPopularity(half_life_days=None))
        (fitted,) = RecordingPopularity.seen
        pairs = {
            (fitted.user_ids[u], fitted.item_ids[i]) for u, i in zip(fitted.users, fitted.items, strict=True)
        }
        tested = {(case.user_id, item) for case in split.cases for item in case.relevant}
        assert tested and not pairs & tested
        assert len(fitted.users) == len(split.fit_rows)


@pytest.mark.skipif(not SHARED_ML100K.exists(), reason="../shared/data/ml-100k is absent")
def test_ml100k_loo_is_the_canonical_split() -> None:
    dataset = EvalDataset.load(SHARED_ML100K, Settings().event_weights)
    split = loo(dataset)
    with (SHARED_ML100K / "split.tsv").open(encoding="utf-8") as handle:
        canonical = {(r["user_id"], r["item_id"]): r["split"] for r in csv.DictReader(handle, delimiter="\t")}
    assert len(split.fit_rows) == 98_114 and len(split.cases) == 943
    assert all(canonical[(r.user_id, r.item_id)] == "train" for r in split.fit_rows)
    assert all(canonical[(c.user_id, next(iter(c.relevant)))] == "test" for c in split.cases)
    assert split.valid is not None
    assert all(canonical[(c.user_id, next(iter(c.relevant)))] == "valid" for c in split.valid.cases)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_ML100K.exists(), reason="../shared/data/ml-100k is absent")
def test_mostpop_reproduces_the_protocol_reference_exactly() -> None:
    dataset = EvalDataset.load(SHARED_ML100K, Settings().event_weights)
    result = Evaluation(dataset, loo(dataset), [10, 20]).run(
        lambda: PopularityRecommender(half_life_days=None)
    )
    expected = {"hr@10": 0.0859, "ndcg@10": 0.0449, "mrr@10": 0.0326, "hr@20": 0.1262, "ndcg@20": 0.0550}
    assert {k: round(result.metrics[k], 4) for k in expected} == expected
    cold = Evaluation(dataset, cold_users(dataset, 0), [20]).run(
        lambda: PopularityRecommender(half_life_days=None)
    )
    assert (round(cold.metrics["recall@20"], 4), round(cold.metrics["ndcg@20"], 4)) == (0.1223, 0.4924)
