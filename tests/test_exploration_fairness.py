"""Fair exploration: new items no model knows are explored by relevance to each user as well as
by need, and no item takes more than its share of the exploration slots (before, two new items
filled them on three pages of four, whatever the user's taste)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.datasets.synth import load_ground_truth
from homefeed.service import create_app
from homefeed.store import Store

PUBLISHED = "2026-02-01"  # after the synthetic log: the newest items of the catalog
NEW = {
    "new-space": {"title": "Rockets Over Mars", "category": "Space", "text": "Rockets and planets."},
    "new-cooking": {"title": "Pasta Night", "category": "Cooking", "text": "Italian home cooking."},
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_new_items_are_explored_by_taste_and_within_their_share(
    trained: tuple[Store, Settings], synth_folder: Path
) -> None:
    _store, settings = trained
    truth = load_ground_truth(synth_folder)
    topics = [topic["key"] for topic in truth["topics"]]
    tastes = truth["user_preferences"].items()
    loves = {user: topics[max(range(len(p)), key=p.__getitem__)] for user, p in tastes}
    users = [user for user in sorted(loves) if loves[user] in ("space", "cooking")]
    # only exploration can find a new item here: no text source, no new-items source
    only_explore = settings.homepage.model_copy(update={"sources": ["personal"], "fill": ["popular"]})
    explored: Counter[str] = Counter()
    matched: Counter[bool] = Counter()
    with TestClient(create_app(settings.model_copy(update={"homepage": only_explore}))) as client:
        for item_id, body in NEW.items():
            answer = client.put(f"/v1/items/{item_id}", json={**body, "published_at": PUBLISHED})
            assert answer.status_code in (200, 201)
        for user in users:
            page = client.get(f"/v1/users/{user}/homepage?n=20").json()
            picks = [item["item_id"] for item in page["items"] if item["source"] == "explore"]
            explored.update(picks)
            matched.update(pick == f"new-{loves[user]}" for pick in picks if pick in NEW)
    total = sum(explored.values())
    assert total >= len(users) >= 60  # the slots were filled, for enough people to tell
    for item_id in NEW:
        assert 0 < explored[item_id] <= 0.3 * total, explored.most_common(5)  # capped share
    assert matched[True] > 2 * matched[False]  # the new item near the user's taste, mostly
