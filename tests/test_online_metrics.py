"""Online metrics from the logs, on planted impressions and events: CTR and CVR overall and per
section, source, position, model version and day; a view is not a click; an event counts only
after its impression and within the attribution window."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.domain import Event, Impression, Item
from homefeed.feedback.online import online_report
from homefeed.service import create_app
from homefeed.store import Store

DAY = 86_400.0


@pytest.fixture
def planted(store: Store) -> float:
    """Five impressions and what followed them; returns the first impression's time."""
    start = (int(time.time() // DAY) - 3) * DAY + 3_600  # 01:00 UTC three days ago
    store.upsert_items([Item(id=i, title=i.upper()) for i in "abcd"])
    shown = [
        Impression("r1", "u1", "a", 0, "top-picks", "als", "v1", start),  # clicked a minute later
        Impression("r1", "u1", "b", 1, "trending", "trending", "v1", start),  # only viewed
        Impression("r2", "u2", "a", 0, "top-picks", "als", "v2", start),  # bought two days later
        Impression("r2", "u2", "c", 1, "top-picks", "ranker", "v2", start),  # bought at once
        Impression("r3", "u3", "d", 0, "trending", "trending", "v2", start + DAY),  # clicked before
    ]
    store.logs.log_impressions(shown)
    store.add_events(
        [
            Event(user_id="u1", item_id="a", type="click", timestamp=start + 60),
            Event(user_id="u1", item_id="b", type="view", timestamp=start + 60),
            Event(user_id="u2", item_id="a", type="purchase", timestamp=start + 2 * DAY),
            Event(user_id="u2", item_id="c", type="purchase", timestamp=start + 10),
            Event(user_id="u3", item_id="d", type="click", timestamp=start + DAY - 10),
        ]
    )
    return start


def _table(report: object) -> dict[str, tuple[int, int, int, int]]:
    rows = report.rows  # type: ignore[attr-defined]
    return {row.key: (row.users, row.impressions, row.clicked, row.converted) for row in rows}


def test_ctr_and_cvr_by_every_dimension(store: Store, settings: Settings, planted: float) -> None:
    since = planted - DAY
    by_section = online_report(store, settings, "section", since)
    assert _table(by_section) == {"top-picks": (2, 3, 2, 1), "trending": (2, 2, 0, 0)}
    assert (by_section.total.users, by_section.total.impressions, by_section.total.clicked) == (3, 5, 2)
    assert by_section.total.ctr == pytest.approx(0.4) and by_section.total.cvr == pytest.approx(0.2)
    assert _table(online_report(store, settings, "source", since)) == {
        "als": (2, 2, 1, 0),
        "ranker": (1, 1, 1, 1),
        "trending": (2, 2, 0, 0),
    }
    assert _table(online_report(store, settings, "position", since)) == {"0": (3, 3, 1, 0), "1": (2, 2, 1, 1)}
    assert _table(online_report(store, settings, "version", since)) == {
        "v1": (1, 2, 1, 0),
        "v2": (2, 3, 1, 1),
    }
    days = online_report(store, settings, "day", since)
    assert [row.key for row in days.rows] == sorted(row.key for row in days.rows)  # ISO dates, in order
    assert [(row.impressions, row.clicked) for row in days.rows] == [(4, 2), (1, 0)]
    # a longer window reaches the purchase two days after its impression
    wide = online_report(store, settings, "source", since, window_hours=72)
    assert _table(wide)["als"] == (2, 2, 2, 1)
    # a view counts as a click only when configured so
    viewed = settings.model_copy(update={"click_types": [*settings.click_types, "view"]})
    assert _table(online_report(store, viewed, "source", since))["trending"] == (2, 2, 1, 0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_admin_endpoint_serves_the_same(store: Store, settings: Settings, planted: float) -> None:
    quiet = settings.model_copy(update={"catalog_poll_seconds": 0, "model_poll_seconds": 0})
    with TestClient(create_app(quiet)) as client:
        body = client.get("/v1/admin/online-metrics", params={"by": "version", "days": 5}).json()
        bad = client.get("/v1/admin/online-metrics", params={"by": "colour"})
    assert [(row["key"], row["impressions"], row["clicked"]) for row in body["rows"]] == [
        ("v1", 2, 1),
        ("v2", 3, 1),
    ]
    assert body["total"]["ctr"] == pytest.approx(0.4) and body["click_types"][0] == "click"
    assert bad.status_code == 422 and bad.json()["field"] == "by"
