"""The page measured as people see it: every test user's homepage, built by the page stages
from a version trained on the split's rows, scored like a model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from homefeed.cli import app
from homefeed.config import Settings
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.evaluator import Evaluation
from homefeed.evaluation.protocols import loo
from homefeed.evaluation.tuning import factory
from homefeed.homepage import HomepagePipeline
from homefeed.homepage.evaluation import PageOptions, evaluate_page, tune_page
from homefeed.live.catalog import Catalog
from homefeed.store import Store
from homefeed.training.selection import Selection
from homefeed.training.trainer import train_bundle

runner = CliRunner()


@pytest.mark.slow
def test_a_page_of_one_model_ranks_exactly_as_that_model(synth_folder: Path, tmp_path: Path) -> None:
    """With the personal row alone (no trending, exploration or diversity), each page is the
    model's own ranking of the user's known history, the validation item read from the log as
    a fresh event: the page's figures are the model's."""
    settings = Settings(
        data_dir=tmp_path,
        homepage={"sources": ["personal"], "trending_share": 0.0, "short_history": 1},
        semantic={"enabled": False},
    )
    dataset = EvalDataset.load(synth_folder, settings.event_weights)
    evaluation = Evaluation(dataset, loo(dataset), [10])
    page = evaluate_page(
        evaluation, settings, PageOptions(("popularity", "covisitation"), exploration=False, diversity=False)
    )
    single = evaluation.run(factory("covisitation", {}), from_history=True)
    assert page.n_users == single.n_users == 300
    for metric in ("hr@10", "ndcg@10", "recall@10"):
        assert page.metrics[metric] == pytest.approx(single.metrics[metric], abs=1e-9), metric
    assert "covisitation 100%" in page.notes[0]
    assert page.params["personal"] == ["covisitation"]


@pytest.mark.slow
def test_evaluate_reports_the_page_beside_the_models(synth_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = runner.invoke(
        app,
        [
            "--data-dir",
            str(tmp_path / "data"),
            "evaluate",
            "--data",
            str(synth_folder),
            "--models",
            "page,pop,als",
            "--page-models",
            "popularity,profile,covisitation,als",
            "--k",
            "10",
            "--no-exploration",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    models = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["splits"][0]["models"]
    assert set(models) == {"page", "popularity", "als"}
    ndcg = {name: values["metrics"]["ndcg@10"] for name, values in models.items()}
    # the page leads with the version's personal models: far above popularity on planted tastes
    assert ndcg["page"] > 2 * ndcg["popularity"]
    assert np.isfinite(ndcg["page"])
    assert "| page |" in (out / "report.md").read_text(encoding="utf-8")


def test_an_unknown_page_model_is_refused(synth_folder: Path) -> None:
    result = runner.invoke(
        app, ["evaluate", "--data", str(synth_folder), "--models", "page", "--page-models", "pop,deepfm"]
    )
    assert result.exit_code != 0
    assert "unknown model 'deepfm'" in str(result.exception)


def _selection(page: dict[str, float]) -> Selection:
    return Selection(
        personal=["covisitation", "als"],
        params={},
        ranker_sources={},
        validation={},
        split="latest liked item per user",
        users=0,
        page=page,
    )


@pytest.mark.slow
def test_the_page_gives_up_trades_that_cost_validation_accuracy(trained: tuple[Store, Settings]) -> None:
    """On planted tastes a generic trending item at slot 3 costs the personal ranking: the
    validation pages without it rank the held-out items better, so its share goes to zero.
    Each trade is switched off only where that raised the figure."""
    store, settings = trained
    selection = _selection({})
    chosen = tune_page(store, settings, selection)
    figures = selection.page_validation
    keys = (
        "trending_share",
        "interests_share",
        "history_share",
        "new_items_share",
        "diversity",
        "short_history",
    )
    assert [label for label in figures if "sweep" not in label] == [
        "as configured",
        *(f"{k}=0" for k in keys),
    ]
    assert figures["trending_share=0"] > figures["as configured"]
    assert chosen["trending_share"] == 0.0
    best, accepted = figures["as configured"], set()
    for label, figure in list(figures.items())[1:]:  # in the order tried, over the sweeps
        key = label.split("=")[0]
        if figure > best:  # switched off exactly where that raised the figure
            accepted.add(key)
            best = figure
    assert accepted == set(chosen)


def test_a_trade_the_operator_set_is_left_as_set(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    named = settings.model_copy(
        update={"homepage": settings.homepage.model_copy(update={"trending_share": 0.1, "diversity": 0.6})}
    )
    named = named.model_copy(
        update={
            "semantic": named.semantic.model_copy(update={"interests_share": 0.2, "history_share": 0.2}),
            "homepage": named.homepage.model_copy(update={"new_items_share": 0.1, "short_history": 3}),
        }
    )
    assert tune_page(store, named, _selection({})) == {}


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # pages alike on either store
def test_a_fused_row_gives_way_where_its_first_model_alone_pages_better(
    trained: tuple[Store, Settings],
) -> None:
    """The fusion was chosen on half the validation users; the validation pages (all of them)
    check it against the first model alone, and the row keeps the better."""
    store, settings = trained
    fused = _selection({})
    fused.blend = 2
    tune_page(store, settings, fused)
    figures = fused.page_validation
    alone = figures["covisitation alone"]
    assert alone != figures["as configured"]  # the variant differs: the pages were rebuilt
    best = max(value for label, value in figures.items() if label != "covisitation alone")
    assert fused.blend == (1 if alone > best else 2)


def test_the_served_page_follows_the_share_tuned_with_its_version(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    bundle = train_bundle(
        store, settings, ["popularity", "covisitation", "als"], selection=_selection({"trending_share": 0.0})
    )
    assert bundle.manifest["selection"]["page"] == {"trending_share": 0.0}
    users = [user.id for user in store.iter_users()][:20]

    def trending(chosen: Settings) -> int:
        pipeline = HomepagePipeline(store, chosen, Catalog(store.iter_items()), bundle)
        return sum(
            item.source == "trending" for user_id in users for item in pipeline.build(user_id, 10).items
        )

    assert trending(settings) == 0  # the version's tuned share
    explicit = settings.model_copy(
        update={"homepage": settings.homepage.model_copy(update={"trending_share": 0.2})}
    )
    explicit.homepage.model_fields_set.add("trending_share")
    assert trending(explicit) > 0  # a share the operator set wins
