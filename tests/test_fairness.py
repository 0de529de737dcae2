"""Fair exposure in the logs: each creator's or category's share of the active catalog against
its share of homepage impressions, over HTTP and on the command line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from homefeed.cli import app as cli
from homefeed.config import Settings
from homefeed.domain import Impression, Item
from homefeed.evaluation.metrics import gini
from homefeed.feedback.fairness import fairness_report
from homefeed.service import create_app
from homefeed.store import Store


def _plant(store: Store) -> None:
    """Ten active items (four by studio a, four by studio b, two by nobody) and one retired;
    studio a's items shown 30 times, b's 10, the others never."""
    catalog = [Item(id=f"a{n}", title=f"A {n}", creator="studio-a", category="Jazz") for n in range(4)]
    catalog += [Item(id=f"b{n}", title=f"B {n}", creator="studio-b", category="Cooking") for n in range(4)]
    catalog += [Item(id=f"c{n}", title=f"C {n}", category="Cooking") for n in range(2)]
    catalog += [Item(id="old", title="Retired", creator="studio-a", active=False)]
    store.upsert_items(catalog)
    now = time.time() - 3600
    shown = [Impression(f"r{n}", f"u{n % 7}", f"a{n % 4}", 0, "main", "als", None, now) for n in range(30)]
    shown += [Impression(f"s{n}", f"u{n % 7}", f"b{n % 2}", 0, "main", "als", None, now) for n in range(10)]
    shown += [
        Impression("ancient", "u1", "c0", 0, "main", "als", None, now - 30 * 86_400)
    ]  # out of the window
    store.logs.log_impressions(shown)


def test_each_creators_share_of_the_catalog_against_its_share_of_impressions(store: Store) -> None:
    _plant(store)
    report = fairness_report(store, "creator", time.time() - 7 * 86_400)
    found = {group.group: group for group in report.groups}
    assert report.impressions == 40 and list(found) == ["studio-a", "studio-b", ""]
    a, b, nobody = found["studio-a"], found["studio-b"], found[""]
    assert (a.items, a.shown_items, a.impressions) == (4, 4, 30)
    assert a.catalog_share == pytest.approx(0.4) and a.exposure_share == pytest.approx(0.75)
    assert a.ratio == pytest.approx(1.875) and b.ratio == pytest.approx(0.625)
    assert (nobody.items, nobody.impressions, nobody.ratio) == (2, 0, 0.0)
    assert (b.shown_items, b.items) == (2, 4)
    assert report.gini == pytest.approx(gini([30 / 4, 10 / 4, 0.0]))
    by_category = {group.group: group.impressions for group in fairness_report(store, "category", 0.0).groups}
    assert by_category == {"Jazz": 30, "Cooking": 11}  # the old impression counts without a window


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_report_over_http_and_on_the_command_line(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    _plant(store)
    with TestClient(create_app(settings)) as client:
        answer = client.get("/v1/admin/fairness?by=creator&days=7").json()
    assert [group["group"] for group in answer["groups"]] == ["studio-a", "studio-b", ""]
    assert answer["groups"][0]["ratio"] == pytest.approx(1.875)
    env = {"HOMEFEED_DATABASE_URL": settings.effective_database_url}
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "fairness", "--by", "creator"], env=env)
    assert result.exit_code == 0, result.output
    assert "studio-a" in result.output and "1.88" in result.output and "(none)" in result.output
