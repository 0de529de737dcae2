"""The operator's dashboard: the data it draws, checked against impressions and events planted
in the logs, and the page itself in a real browser (Debian's chromium via Playwright): its
charts hold those values, it loads nothing from elsewhere, its rollback button pins the
previous version, and it is screenshotted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from homefeed.config import AccessSettings, Settings
from homefeed.domain import Event, Impression
from homefeed.feedback.dashboard import dashboard
from homefeed.store import Store
from homefeed.training.trainer import train_bundle

from .browser import ADMIN_KEY, CHROMIUM, CHROMIUM_ARGS, serving
from .conftest import load_folder

DAY = 86_400.0


def _plant(store: Store, now: float) -> None:
    """Two days of pages: 'top-picks' from ALS shown 40 times, 10 clicked (2 of them bought),
    'trending' shown 20 times, 2 clicked; yesterday's impressions are the 20 trending ones and
    20 of top-picks. Sixty catalog items, each shown once; five events in the last minutes."""
    shown, done = [], []
    items = store.item_ids()[:60]
    for n, item in enumerate(items):
        section, source = ("top-picks", "als") if n < 40 else ("trending", "trending")
        at = now - 2 * DAY if n < 20 else now - DAY
        user = f"u{n % 6}"
        shown.append(Impression(f"r{n}", user, item, n % 10, section, source, "v1", at, None, None))
        if (section == "top-picks" and n % 4 == 0) or (section == "trending" and n in (40, 41)):
            done.append(Event(user_id=user, item_id=item, type="click", timestamp=at + 30))
        if section == "top-picks" and n in (0, 4):
            done.append(Event(user_id=user, item_id=item, type="purchase", timestamp=at + 60))
    store.logs.log_impressions(shown)
    done += [Event(user_id="u0", item_id=items[1], type="view", timestamp=now - 120) for _ in range(5)]
    store.add_events(done)


def test_the_dashboard_reads_what_the_logs_hold(store: Store, settings: Settings, synth_folder: Path) -> None:
    load_folder(store, settings, synth_folder)
    now = time.time()
    _plant(store, now)
    found = dashboard(store, settings, days=3, minutes=10, now=now)
    sections = {row.key: (row.impressions, row.clicked, row.converted) for row in found.by_section}
    assert sections == {"top-picks": (40, 10, 2), "trending": (20, 2, 0)}
    assert [(row.impressions, row.clicked) for row in found.by_day] == [(20, 5), (40, 7)]
    assert found.total.impressions == 60 and found.total.clicked == 12
    catalog = sum(1 for item in store.iter_items() if item.active)
    assert found.exposure.shown == 60 and found.exposure.coverage == pytest.approx(60 / catalog)
    assert 0 < found.exposure.gini < 1
    assert len(found.events_per_minute) == 10 and found.events_per_minute[-3][1] == 5  # two minutes ago


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_dashboard_page_draws_the_logged_values_and_rolls_back(
    store: Store, settings: Settings, synth_folder: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import Route, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    quick = settings.model_copy(
        update={
            "semantic": settings.semantic.model_copy(update={"enabled": False}),
            "access": AccessSettings.model_validate({"admin_keys": [ADMIN_KEY]}),
        }
    )
    load_folder(store, quick, synth_folder)
    older = train_bundle(store, quick, ["popularity"])
    newer = train_bundle(store, quick, ["popularity"])
    _plant(store, time.time())
    elsewhere: list[str] = []
    with serving(quick) as base_url, sync_playwright() as playwright:

        def only_the_server(route: Route) -> None:
            if route.request.url.startswith(base_url):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                http_credentials={"username": "admin", "password": ADMIN_KEY},
                viewport={"width": 1400, "height": 1800},
            )
            page = context.new_page()
            page.route("**/*", only_the_server)
            page.goto(base_url + "/admin")
            page.wait_for_selector("#dashboard[data-state=ready]", timeout=20_000)
            chart = "id => { const c = Chart.getChart(document.getElementById(id)); return c.data; }"
            sections = page.evaluate(chart, "chart-sections")
            drawn = dict(zip(sections["labels"], sections["datasets"][0]["data"], strict=True))
            assert drawn == pytest.approx({"top-picks": 0.25, "trending": 0.10})
            converted = dict(zip(sections["labels"], sections["datasets"][1]["data"], strict=True))
            assert converted == pytest.approx({"top-picks": 0.05, "trending": 0.0})
            days = page.evaluate(chart, "chart-days")
            assert days["datasets"][0]["data"] == pytest.approx([5 / 20, 7 / 40])
            events = page.evaluate(chart, "chart-events")
            assert sum(events["datasets"][0]["data"]) == 5
            assert page.locator("#total-impressions").inner_text() == "60"
            assert page.locator("#total-ctr").inner_text() == "20.00 %"
            statuses = page.locator("#versions tbody tr td:nth-child(2)").all_inner_texts()
            assert statuses == ["serving", "kept"]
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            page.locator("#rollback").click()
            page.locator("#action-result", has_text="now serving").wait_for()  # no eval: the page's CSP
            assert page.locator("#action-result").inner_text() == f"now serving {older.version} (pinned)"
            rows = page.locator("#versions tbody tr")
            page.locator("#versions tbody td.status-pinned").wait_for()
            assert rows.nth(1).get_attribute("data-version") == older.version
            assert rows.nth(0).get_attribute("data-version") == newer.version
            page.screenshot(path=str(tmp_path / "dashboard-rolled-back.png"), full_page=True)
        finally:
            browser.close()
    assert elsewhere == []
    assert (tmp_path / "dashboard.png").stat().st_size > 20_000
