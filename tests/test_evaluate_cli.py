"""`homefeed evaluate` end to end on synthetic data: tables, report, metrics and plots."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from homefeed.cli import app

runner = CliRunner()


def test_evaluate_writes_report_metrics_and_plots(synth_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--data",
            str(synth_folder),
            "--protocol",
            "loo",
            "--models",
            "pop,als,ease,random",
            "--k",
            "5,10",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "loo · 300 users" in result.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    models = metrics["splits"][0]["models"]
    assert set(models) == {"popularity", "als", "ease", "random"}
    # on data with planted tastes the personal models beat popularity and chance several times over
    ndcg = {name: values["metrics"]["ndcg@10"] for name, values in models.items()}
    assert ndcg["als"] > 2 * max(ndcg["popularity"], ndcg["random"])
    assert ndcg["ease"] > 2 * max(ndcg["popularity"], ndcg["random"])
    assert set(models["als"]["groups"]) == {"gender", "age", "activity"}
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| als |" in report and "Beyond accuracy" in report
    for suffix in ("metric-vs-k", "groups", "popularity"):
        assert (out / f"loo-{suffix}.png").stat().st_size > 5_000


def test_tuning_picks_the_best_validation_score(synth_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "tuned"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--data",
            str(synth_folder),
            "--models",
            "ease",
            "--k",
            "10",
            "--tune",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    tuning = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["tuning"]["ease"]
    scores = [trial["valid_ndcg@10"] for trial in tuning["trials"]]
    assert len(scores) == 6 and tuning["best_valid_ndcg@10"] == max(scores)
    best = next(trial["params"] for trial in tuning["trials"] if trial["valid_ndcg@10"] == max(scores))
    assert tuning["best"] == best
    assert "tuned ease" in result.output


def test_evaluate_refuses_bad_options_clearly(synth_folder: Path) -> None:
    for args, message in (
        (["--models", "pop,deepfm"], "unknown model 'deepfm'"),
        (["--protocol", "random-split"], "unknown protocol 'random-split'"),
        (["--k", "ten"], "--k must be whole numbers"),
    ):
        result = runner.invoke(app, ["evaluate", "--data", str(synth_folder), *args])
        assert result.exit_code != 0
        assert message in str(result.exception) or message in result.output
