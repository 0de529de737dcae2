"""Amortized exposure control: a category over its cap of impressions (times its share of the
catalog) leaves the next pages while the others fill them; below the cap, pages are as before."""

from __future__ import annotations

import time
from collections import Counter

from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.domain import ShownPage
from homefeed.homepage.exposure import over_exposed
from homefeed.service import create_app
from homefeed.store import Store


def test_a_group_is_over_when_its_impression_share_passes_the_cap_times_its_catalog_share() -> None:
    shares = {"category:a": 0.5, "category:b": 0.25, "category:c": 0.25}
    shown = {"category:a": 500.0, "category:b": 400.0, "category:c": 100.0}
    assert over_exposed(shown, shares, 1.5, 100) == {"category:b"}  # 0.40 > 1.5 x 0.25; a: 0.50 < 0.75
    assert over_exposed(shown, shares, 1.6, 100) == frozenset()  # 0.40 = 1.6 x 0.25: not over
    assert over_exposed(shown, shares, 1.5, 10_000) == frozenset()  # too few impressions to judge


def test_a_category_over_its_exposure_cap_leaves_the_next_pages(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    items = list(store.iter_items())
    category = {item.id: item.category for item in items}
    user = store.logs.sample_user_ids(1)[0]
    url = f"/v1/users/{user}/homepage?n=10&flat=true"
    capped = settings.homepage.model_copy(
        update={"exposure_cap": 1.5, "exposure_groups": ["category"], "exposure_min_impressions": 100}
    )
    with TestClient(create_app(settings)) as plain:
        before = plain.get(url).json()["items"]
    favourite = Counter(category[item["item_id"]] for item in before).most_common(1)[0][0]
    own = [item.id for item in items if item.category == favourite]
    assert len(own) < len(items) / 3  # its catalog share (the planted topics are about a sixth)
    shown = tuple((item_id, position, "main", "als") for position, item_id in enumerate(own[:10]))
    store.logs.log_pages(
        [ShownPage(f"r{n}", f"other{n}", None, time.time(), None, None, shown) for n in range(30)]
    )
    with TestClient(create_app(settings.model_copy(update={"homepage": capped}))) as balanced:
        after = balanced.get(url).json()
    assert len(after["items"]) == 10 and not after["degraded"]
    kept = sum(category[item["item_id"]] == favourite for item in after["items"])
    assert kept < sum(category[item["item_id"]] == favourite for item in before) and kept <= 2, (kept, after)
