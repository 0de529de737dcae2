"""Domain presets end to end: a synthetic site of each kind, set up with `homefeed init
--preset`, imported and trained through the command line, served over HTTP; its pages follow
the preset's rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from homefeed.cli import app as homefeed_cli
from homefeed.config import Settings, load_settings
from homefeed.service import create_app

pytestmark = pytest.mark.slow


@dataclass
class Site:
    client: TestClient
    items: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]
    settings: Settings

    @property
    def end(self) -> float:
        return max(event["timestamp"] for event in self.events)

    def send(self, user: str, *rows: tuple[str, str, float | None]) -> None:
        """Events one minute apart after the log's end, as the site's client would send them."""
        seen = len(self.events)
        batch = [
            {
                "user_id": user,
                "item_id": item,
                "type": kind,
                "value": value,
                "timestamp": self.end + 60 * (n + 1),
            }
            for n, (item, kind, value) in enumerate(rows)
        ]
        self.events += [{**event, "event_id": f"t{seen + n}"} for n, event in enumerate(batch)]
        answer = self.client.post("/v1/events", json={"events": batch})
        assert answer.status_code == 200, answer.text

    def page(self, user: str, **query: Any) -> dict[str, Any]:
        answer = self.client.get(f"/v1/users/{user}/homepage", params={"n": 20, **query})
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        return page

    def untouched(self, user: str) -> set[str]:
        """Items the user has no event on."""
        return set(self.items) - {event["item_id"] for event in self.events if event["user_id"] == user}


def _site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, domain: str) -> Iterator[Site]:
    root, folder = tmp_path / "data", tmp_path / "synth"
    monkeypatch.setenv("HOMEFEED_DATA_DIR", str(root))
    monkeypatch.setenv("HOMEFEED_SEMANTIC__ENABLED", "false")  # the rules, not the text model, are tested
    monkeypatch.setenv("HOMEFEED_THREADS", "1")
    monkeypatch.setenv("HOMEFEED_CLOCK", "log")  # the synthetic log is a replay: "now" is its end
    monkeypatch.setenv("HOMEFEED_EVENT_MAX_AGE_DAYS", "0")
    monkeypatch.setenv("HOMEFEED_LOG_IMPRESSIONS", "false")
    runner = CliRunner()
    for args in (
        ["datasets", "synth", "--out", str(folder), "--users", "60", "--items", "120", "--domain", domain],
        ["init", "--preset", domain],
        ["import", "dataset", str(folder)],
        ["train"],
    ):
        result = runner.invoke(homefeed_cli, args)
        assert result.exit_code == 0, result.output
    assert (root / "homefeed.env").read_text() == f"HOMEFEED_PRESET={domain}\n"
    settings = load_settings()  # the preset comes from the data directory's settings file
    assert settings.preset == domain
    items = {row["id"]: row for row in _rows(folder / "items.jsonl")}
    with TestClient(create_app(settings)) as client:
        yield Site(client, items, _rows(folder / "events.jsonl"), settings)


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _ids(page: dict[str, Any]) -> list[str]:
    return [item["item_id"] for item in page["items"]]


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    yield from _site(tmp_path, monkeypatch, "ecommerce")


def test_a_shop_shows_no_bought_item_again_but_groceries_and_nothing_out_of_stock(shop: Site) -> None:
    user = "u00003"
    fresh = sorted(shop.untouched(user))
    in_stock = [item for item in fresh if shop.items[item]["attributes"]["in_stock"]]
    gadget = next(item for item in in_stock if shop.items[item]["category"] != "Groceries")
    flour = next(item for item in in_stock if shop.items[item]["category"] == "Groceries")
    looked = next(item for item in in_stock if item not in (gadget, flour))
    shop.send(user, (gadget, "purchase", None), (flour, "purchase", None), (looked, "view", None))
    everything = shop.page(user, n=200)
    shown = set(_ids(everything))
    assert gadget not in shown  # bought: not offered again
    assert looked in shown  # only looked at: may come back
    assert flour in set(_ids(shop.page(user, n=200, category="Groceries")))  # bought every week
    sold_out = {item for item, row in shop.items.items() if not row["attributes"]["in_stock"]}
    assert sold_out and not sold_out & shown
    titles = {section["title"] for section in everything["sections"]}
    assert titles & {"Recommended for you", "Best sellers", "New arrivals"}, titles


def test_a_shop_page_keeps_to_the_price_range_and_names_a_wrong_one(shop: Site) -> None:
    page = shop.page("u00004", min_price=20, max_price=60)
    prices = [shop.items[item]["attributes"]["price"] for item in _ids(page)]
    assert prices and all(20 <= price <= 60 for price in prices)
    assert [item["price"] for item in page["items"]] == prices  # the card's price, in the same call
    web = shop.client.get("/", params={"user": "u00004"})
    assert web.status_code == 200 and '<p class="price">' in web.text
    wrong = shop.client.get("/v1/users/u00004/homepage", params={"min_price": 70, "max_price": 10})
    assert wrong.status_code == 422 and "min_price" in wrong.text


def test_a_news_page_leads_with_breaking_news_and_shows_nothing_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for news in _site(tmp_path, monkeypatch, "news"):
        story = {"title": "Storm Closes the Harbour", "category": "Travel", "published_at": news.end - 3600}
        written = news.client.put("/v1/items/flash", json={**story, "attributes": {"breaking": True}})
        assert written.status_code == 200, written.text
        page = news.page("u00005")
        assert page["items"][0]["item_id"] == "flash"
        assert page["sections"][0]["title"] == "Breaking news"
        oldest = news.end - 3 * 86_400
        assert all(item["published_at"] >= oldest for item in page["items"][1:]), page["items"]
        news.send("u00005", ("flash", "read", None))
        assert "flash" not in _ids(news.page("u00005"))  # read: the slot goes to the next story


def test_a_video_page_continues_the_series_being_watched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for video in _site(tmp_path, monkeypatch, "video"):
        assert video.settings.events.strength("watch", 0.25) == pytest.approx(0.5)  # watch share scales it
        user = "u00006"
        untouched = video.untouched(user)
        episodes: dict[str, dict[int, str]] = {}
        for item, row in video.items.items():
            episodes.setdefault(row["attributes"]["series"], {})[row["attributes"]["episode"]] = item
        series, parts = next(
            (name, parts)
            for name, parts in sorted(episodes.items())
            if len(parts) == 4 and set(parts.values()) <= untouched
        )
        video.send(user, (parts[1], "watch", 1.0), (parts[2], "watch", 0.9))
        page = video.page(user)
        first = page["sections"][0]
        assert first["title"] == "Continue watching"
        assert first["item_ids"][0] == parts[3]
        assert page["items"][0]["reason"].startswith(f"Next in {series}")


def test_a_course_page_continues_learning_and_waits_for_prerequisites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for school in _site(tmp_path, monkeypatch, "education"):
        user = "u00007"
        untouched = school.untouched(user)
        needs = {item: row["attributes"].get("prerequisites", []) for item, row in school.items.items()}
        basics, advanced = next(
            (required[0], item)
            for item, required in sorted(needs.items())
            if required and item in untouched and required[0] in untouched and not needs[required[0]]
        )
        for _ in range(40):  # every request draws its exploration anew: none may pick it either
            assert advanced not in _ids(school.page(user, n=200))  # its prerequisite is not done
        school.send(user, (basics, "enroll", None), (basics, "progress", 0.4))
        page = school.page(user)
        assert page["sections"][0]["title"] == "Continue learning"
        assert page["sections"][0]["item_ids"][0] == basics
        assert _ids(page).count(basics) == 1
        assert advanced not in _ids(school.page(user, n=200))
        school.send(user, (basics, "complete", None))
        shown = _ids(school.page(user, n=200))
        assert basics not in shown and advanced in shown


def test_a_setting_named_beside_a_preset_wins_field_by_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEFEED_PRESET", "news")
    monkeypatch.setenv("HOMEFEED_HOMEPAGE__MAX_AGE_DAYS", "7")
    settings = Settings()
    assert settings.homepage.max_age_days == 7  # named: the operator's
    assert (
        settings.homepage.breaking_hours == 6 and settings.homepage.sources[0] == "breaking"
    )  # the preset's
    assert settings.popularity.half_life_days == 1.0
    monkeypatch.setenv("HOMEFEED_PRESET", "shop")
    with pytest.raises(ValueError, match="unknown preset 'shop'; expected one of"):
        Settings()


def test_init_refuses_an_unknown_preset_and_lists_them(tmp_path: Path) -> None:
    result = CliRunner().invoke(homefeed_cli, ["--data-dir", str(tmp_path), "init", "--preset", "shop"])
    assert result.exit_code != 0 and "ecommerce" in result.output
    assert not (tmp_path / "homefeed.env").exists()


@pytest.mark.parametrize(
    ("attributes", "available", "price"),
    [
        ({"price": "12.5", "in_stock": True}, True, 12.5),
        ({"in_stock": False}, False, None),
        ({"availability": "Sold out"}, False, None),
        ({"stock": 0, "price": 3}, False, 3.0),
        ({"stock": "4", "price": "n/a"}, True, None),
    ],
)
def test_stock_and_price_are_read_from_the_attributes_shops_use(
    attributes: dict[str, Any], available: bool, price: float | None
) -> None:
    from homefeed.live.catalog import ItemTraits

    traits = ItemTraits.of(attributes) or ItemTraits()  # None: nothing a rule reads
    assert traits.available is available and traits.price == price
    assert ItemTraits.of({"topic": "space"}) is None  # nothing a rule reads: no traits kept
