"""Feedback that is heard: after "not for me", items like the disliked one move down the very
next page (planted structure: the synthetic catalog's topics each have a category and a pool of
three creators)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.service import create_app
from homefeed.store import Store


def _positions(page: dict[str, Any], wanted: set[str]) -> list[int]:
    return [n for n, item in enumerate(page["items"]) if item["item_id"] in wanted]


def _mean(values: list[int]) -> float:
    return sum(values) / len(values)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_dislike_moves_items_like_it_down_on_the_next_request(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    items = {item.id: item for item in store.iter_items()}
    deaf = settings.homepage.model_copy(update={"dislike_similarity": None})
    with (
        TestClient(create_app(settings)) as client,
        TestClient(create_app(settings.model_copy(update={"homepage": deaf}))) as unheard,
    ):
        user = store.logs.sample_user_ids(1)[0]
        url = f"/v1/users/{user}/homepage?n=20&flat=true"

        def dislike(item_id: str) -> None:
            event = {"user_id": user, "item_id": item_id, "type": "dislike"}
            assert client.post("/v1/events", json={"events": [event]}).status_code == 200

        first = client.get(url).json()["items"][0]["item_id"]
        creator, category = items[first].creator, items[first].category
        dislike(first)
        after, deaf_page = client.get(url).json(), unheard.get(url).json()
        same_creator = {item.id for item in items.values() if item.creator == creator}
        moved, stayed = _positions(after, same_creator), _positions(deaf_page, same_creator)
        assert first not in {item["item_id"] for item in after["items"]}
        assert stayed and min(stayed) < 3  # unheard, the creator's other items lead the page
        assert set(moved).isdisjoint(range(5))  # heard: they leave the top of the page

        second = next(
            item["item_id"] for item in after["items"] if items[item["item_id"]].category == category
        )
        dislike(second)  # a second dislike in the category: the category goes down
        twice, deaf_twice = client.get(url).json(), unheard.get(url).json()
    alike = {item.id for item in items.values() if item.category == category}
    down, level = _positions(twice, alike), _positions(deaf_twice, alike)
    assert level  # unheard, the category is on the page
    assert not down or _mean(down) > _mean(level) + 2  # heard: further down the page, or off it
