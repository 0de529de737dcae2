"""The web page in a real browser (Debian's chromium via Playwright) against a real server."""

from __future__ import annotations

import os
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from homefeed.config import AccessSettings, Settings
from homefeed.store import Store

from .browser import ADMIN_KEY, CHROMIUM, CHROMIUM_ARGS, serving

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("HOMEFEED_SCREENSHOTS")  # a folder to keep the page's screenshots in


def _pictures(store: Store, media: Path) -> None:
    """Every other item gets a picture in the media folder, coloured by its category."""
    from PIL import Image

    media.mkdir(parents=True, exist_ok=True)
    with_pictures = []
    for number, item in enumerate(store.iter_items()):
        if number % 2 == 0:
            hue = zlib.crc32((item.category or "").encode()) % 256
            Image.new("RGB", (60, 80), (hue, 255 - hue, 120)).save(media / f"{item.id}.png")
            with_pictures.append(item.model_copy(update={"image": f"{item.id}.png"}))
    (media / f"{with_pictures[0].id}.png").unlink()  # named but missing: the card shows a placeholder
    store.upsert_items(with_pictures)


@pytest.fixture(params=["open", "with API keys"])
def server(
    request: pytest.FixtureRequest, trained: tuple[Store, Settings], tmp_path: Path
) -> Iterator[tuple[str, Store]]:
    """The real app under uvicorn on a free loopback port: open, or with an admin key that the
    browser gives as the password of the login prompt (HTTP Basic). Half the items have
    pictures, served from the media folder."""
    store, settings = trained
    _pictures(store, tmp_path / "media")
    settings = settings.model_copy(update={"media_dir": tmp_path / "media"})
    if request.param == "with API keys":
        access = AccessSettings.model_validate({"admin_keys": [ADMIN_KEY]})
        settings = settings.model_copy(update={"access": access})
    with serving(settings) as base_url:
        yield base_url, store


def _check_pictures_and_engine_details(page: Any, folder: Path) -> None:
    """Cards with a picture show it (loaded from the media folder), the others a placeholder;
    each item's source and score stay hidden until the operator's toggle shows them."""
    page.locator("#homepage .card .picture img").evaluate_all(  # lazy ones off screen too
        "images => Promise.all(images.map(i => { i.loading = 'eager'; return i.decode().catch(() => 0); }))"
    )
    page.wait_for_timeout(100)  # a picture that failed has given way to a placeholder
    loaded = page.locator("#homepage .card .picture img").evaluate_all(
        "images => images.map(i => i.naturalWidth)"
    )
    placeholders = page.locator("#homepage .card .placeholder").count()
    cards = page.locator("#homepage .card").count()
    assert loaded and all(width == 60 for width in loaded), loaded
    assert placeholders > 0 and len(loaded) + placeholders == cards
    item_id = page.locator("#homepage .card:has(.picture img)").first.get_attribute("data-item-id")
    broken = page.locator(f'#homepage .card[data-item-id="{item_id}"]')  # its picture goes missing
    broken.locator("img").evaluate("i => { i.src = '/media/missing.png'; }")
    page.wait_for_timeout(300)
    assert broken.locator(".placeholder").count() == 1 and broken.locator("img").count() == 0
    engine = page.locator("#homepage .card .engine").first
    assert not engine.is_visible()
    page.screenshot(path=str(folder / "homepage.png"), full_page=True)
    page.locator("#engine-details").check()
    assert engine.is_visible() and "score" in engine.inner_text()
    page.screenshot(path=str(folder / "homepage-engine-details.png"), full_page=True)
    page.reload()  # remembered
    assert page.locator("#homepage .card .engine").first.is_visible()
    page.locator("#engine-details").uncheck()
    for name in ("homepage.png", "homepage-engine-details.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if SCREENSHOTS:
            shutil.copy(folder / name, Path(SCREENSHOTS) / name)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_clicking_a_card_stores_the_event_and_changes_the_homepage(
    server: tuple[str, Store], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    base_url, store = server
    locked = "with API keys" in request.node.callspec.id
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            credentials = {"username": "admin", "password": ADMIN_KEY} if locked else None
            page = browser.new_context(http_credentials=credentials).new_page()  # type: ignore[arg-type]
            page.goto(base_url + "/")
            page.locator("ul.users a").first.click()
            page.wait_for_selector("#homepage .card")
            user_id = page.locator("#homepage").get_attribute("data-user-id")
            assert user_id
            before = page.locator("#homepage .card").evaluate_all("cards => cards.map(c => c.dataset.itemId)")
            assert len(before) >= 10
            assert "Because you liked" in page.locator("#homepage .card .reason").first.inner_text()
            titles = page.locator("#homepage .row h2").all_inner_texts()
            assert titles and all(titles) and len(set(titles)) == len(titles)
            assert titles[0] == "Top picks for you" or titles[0].startswith("Because you liked")
            _check_pictures_and_engine_details(page, tmp_path)
            clicked = before[0]
            with page.expect_navigation():
                page.locator(f'#homepage .card[data-item-id="{clicked}"] h3').click()
            page.wait_for_selector("#homepage .card")
            after = page.locator("#homepage .card").evaluate_all("cards => cards.map(c => c.dataset.itemId)")
        finally:
            browser.close()
    stored = [(e.item_id, e.type) for e in store.logs.user_events(user_id, 5)]
    assert stored[-1] == (clicked, "click")
    # the event says where it happened, as the page's own request context did
    assert list(store.logs.iter_event_rows())[-1][4:6] == ("desktop", "web")
    assert clicked not in after
    assert after != before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_api_docs_render_without_internet(server: tuple[str, Store]) -> None:
    """Swagger UI comes from the package's static files: every request the page makes stays on
    the server (any other is refused here), and the operations are listed (with keys too: the
    docs describe the API, they call nothing)."""
    from playwright.sync_api import Route, sync_playwright

    base_url, _store = server
    elsewhere: list[str] = []

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_the_server)
            page.goto(base_url + "/docs")
            page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
            assert "homefeed" in page.locator(".swagger-ui .info .title").inner_text()
            page.wait_for_selector(".opblock", timeout=20_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            assert any("/homepage" in path for path in paths)
        finally:
            browser.close()
    assert elsewhere == []
