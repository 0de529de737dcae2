"""Feedback that is heard: after "not for me", items like the disliked one move down the very
next page (planted structure: the synthetic catalog's topics each have a category and a pool of
three creators)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.domain import Item
from homefeed.models.base import UserQuery
from homefeed.models.data import Interactions
from homefeed.ranking.ltr import RankerRecommender
from homefeed.service import create_app
from homefeed.store import Store


def _positions(page: dict[str, Any], wanted: set[str]) -> list[int]:
    return [n for n, item in enumerate(page["items"]) if item["item_id"] in wanted]


def _mean(values: list[int]) -> float:
    return sum(values) / len(values)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_dislike_moves_items_like_it_down_on_the_next_request(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    # exploration draws its slots by a random request id: an explored item could land on top
    settings = settings.model_copy(
        update={"homepage": settings.homepage.model_copy(update={"exploration_slots": 0})}
    )
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


TOPICS, PER_TOPIC = 6, 20


def _disliking_log(n_users: int = 240, seed: int = 0) -> Interactions:
    """Each person picks among three topics; partway through, they dislike an item of one of
    them, and from then on pick only from the other two (planted: a dislike says where the
    next picks will not be). Item texts and categories say each item's topic."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, str, float]] = []
    for user in range(n_users):
        liked = rng.choice(TOPICS, 3, replace=False)
        pools = {
            topic: list(rng.permutation(range(topic * PER_TOPIC, (topic + 1) * PER_TOPIC))) for topic in liked
        }
        plan = [(int(rng.choice(liked)), "click") for _ in range(6)] + [(int(liked[2]), "dislike")]
        plan += [(int(rng.choice(liked[:2])), "click") for _ in range(6)]
        for moment, (topic, kind) in enumerate(plan):
            rows.append((f"u{user:03d}", f"i{pools[topic].pop():03d}", kind, float(moment)))
    data = Interactions.from_rows(
        rows, {"click": 1.0, "dislike": -2.0}, [f"i{i:03d}" for i in range(TOPICS * PER_TOPIC)]
    )
    text = rng.normal(0.0, 0.3, size=(TOPICS * PER_TOPIC, 16)).astype(np.float32)
    text[np.arange(TOPICS * PER_TOPIC), np.arange(TOPICS * PER_TOPIC) // PER_TOPIC] += 1.0
    data.item_text = text
    data.item_fields = [
        Item(id=f"i{i:03d}", title=f"Item {i}", category=f"t{i // PER_TOPIC}")
        for i in range(TOPICS * PER_TOPIC)
    ]
    return data


def test_the_ranker_learns_from_dislikes_in_the_log_to_push_like_items_down() -> None:
    """Trained on a log where a dislike says where the next picks will not be, the ranker
    weighs its disliked-item features and ranks a disliked item's topic lower on the next
    request, for people it never saw."""
    ranker = RankerRecommender(
        sources={"als": {"factors": 8, "iterations": 10}, "itemknn": {}, "popularity": {}},
        per_source=30,
        n_estimators=200,
        early_stopping=30,
    ).fit(_disliking_log())
    importance = ranker.training_report()["importance"]
    assert importance["text_to_disliked"] + importance["disliked_in_category"] > 0  # learned, not ignored
    fresh = _disliking_log(60, seed=1)
    moved = []
    for items, weights in fresh.sequences(positive_only=False):
        before_dislike = items[: int(np.flatnonzero(weights < 0)[0]) + 1]  # the dislike is the last event
        disliked = int(before_dislike[-1])
        liked = before_dislike[:-1]
        allowed = np.ones(ranker.n_items, dtype=bool)
        allowed[before_dislike] = False
        ranks = []
        for query in (
            UserQuery(liked, np.ones(len(liked), dtype=np.float32)),
            UserQuery(before_dislike, np.append(np.ones(len(liked)), -2.0).astype(np.float32)),
        ):
            found = ranker.retrieve(query, allowed, 100)
            order = found.indices[np.argsort(-ranker.score_features(found.features), kind="stable")]
            ranks.append(
                [
                    rank
                    for rank, index in enumerate(order.tolist())
                    if index // PER_TOPIC == disliked // PER_TOPIC
                ]
            )
        if ranks[0] and ranks[1]:
            moved.append(_mean(ranks[1][:5]) - _mean(ranks[0][:5]))
    assert len(moved) >= 40, len(moved)
    assert sum(shift > 0 for shift in moved) >= 0.8 * len(moved), moved
    assert _mean(moved) > 3.0, moved
