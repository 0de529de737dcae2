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
from homefeed.homepage.evaluation import PageOptions, evaluate_page

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
