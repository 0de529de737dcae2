"""Docs that cannot drift: the configuration reference is generated from the settings' own
descriptions, every setting has one, and the benchmark page stays a page of today's figures."""

from __future__ import annotations

from pathlib import Path

from homefeed.cli import configuration_markdown
from homefeed.config import settings_reference

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_configuration_reference_is_the_settings_own() -> None:
    written = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert written == configuration_markdown(), (
        "docs/configuration.md is out of date: homefeed settings --markdown > docs/configuration.md"
    )


def test_every_setting_says_what_it_does() -> None:
    rows = settings_reference()
    assert len(rows) > 50
    assert [variable for variable, _, meaning in rows if not meaning] == []
    assert ("HOMEFEED_ALS__FACTORS", "64", "Latent dimensions.") in rows


def test_the_benchmark_page_holds_todays_figures_only() -> None:
    lines = (DOCS / "benchmarks.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 300
    assert not [line for line in lines if "_TABLE" in line]  # no placeholder left
