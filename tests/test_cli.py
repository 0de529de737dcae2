"""The command line, run in-process with Typer's runner."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from homefeed.cli import app, main

runner = CliRunner()


def _invoke(data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


def test_every_command_has_help() -> None:
    for command in (
        [],
        ["import"],
        ["import", "events"],
        ["datasets", "synth"],
        ["datasets", "download"],
        ["train"],
        ["serve"],
        ["recommend"],
        ["demo"],
        ["init"],
        ["experiment-report"],
        ["experiments"],
        ["experiments", "start"],
        ["experiments", "report"],
        ["experiments", "plan"],
        ["versions", "promote"],
        ["users"],
        ["users", "export"],
        ["users", "delete"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output


def test_synth_import_train_recommend(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, out = _invoke(
        data,
        "datasets",
        "synth",
        "--out",
        str(tmp_path / "synth"),
        "--users",
        "80",
        "--items",
        "60",
        "--days",
        "10",
    )
    assert code == 0 and "wrote 60 items, 80 users" in out
    code, out = _invoke(data, "import", "dataset", str(tmp_path / "synth"))
    assert code == 0 and "imported 60 items, 80 users" in out
    code, out = _invoke(data, "train")
    assert code == 0 and "model version" in out
    # not a terminal: progress is plain lines, one per step, without control characters
    assert "\r" not in out and "\x1b" not in out
    assert re.search(r"^\[ +[0-9.]+s\] fitting als$", out, re.MULTILINE), out
    code, out = _invoke(data, "recommend", "u00001", "--n", "3")
    assert code == 0 and "homepage of u00001" in out and "covisitation" in out


def test_user_errors_exit_2_with_one_line_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "events.csv"
    bad.write_text("user_id,item_id,type\nu1,i1,click\n", encoding="utf-8")
    for argv in (
        ["import", "events", str(bad)],
        ["train"],
        ["import", "events", str(tmp_path / "none.csv")],
    ):
        monkeypatch.setattr("sys.argv", ["homefeed", "--data-dir", str(tmp_path / "d"), *argv])
        with pytest.raises(SystemExit) as exited:
            main()
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert "error:" in err and "Traceback" not in err
    monkeypatch.setattr(
        "sys.argv", ["homefeed", "--data-dir", str(tmp_path / "d"), "import", "events", str(bad)]
    )
    with pytest.raises(SystemExit):
        main()
    assert "line 2, column 'item_id': unknown item 'i1'" in " ".join(capsys.readouterr().err.split())


def test_experiment_report_prints_rates_per_arm(tmp_path: Path) -> None:
    from homefeed.config import Settings
    from homefeed.domain import Event, Impression
    from homefeed.store import Store, migrate
    from homefeed.store import experiments as stored

    data = tmp_path / "data"
    data.mkdir()
    store = Store.from_url(Settings(data_dir=data).effective_database_url)
    migrate(store.engine)
    stored.add(store.engine, "exp", {"a": {}, "b": {}}, "api")
    stored.add(store.engine, "nothing", {"a": {}, "b": {}}, "api")
    shown = [
        Impression(f"r{n}", f"u{n}", "i1", 0, "main", "als", None, 1000.0, "exp", "ab"[n % 2])
        for n in range(8)
    ]
    store.logs.log_impressions(shown)
    store.add_events([Event(user_id="u0", item_id="i1", type="purchase", timestamp=1100.0)])
    store.close()
    code, out = _invoke(data, "experiment-report", "exp")
    assert code == 0, out
    assert "25.00%" in out and "0.00%" in out  # arm a: 1 of 4 impressions clicked (and bought)
    code, out = _invoke(data, "experiment-report", "nothing")
    assert code == 1 and "no impressions recorded for experiment 'nothing'" in out
