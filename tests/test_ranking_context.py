"""The ranker's context features: lifts by time of day, weekday, device and surface, the
item's age at request time and its match with stated interests; known values on planted
data, and a ranker that learns which items each device picks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from homefeed.domain import Event, ItemFields
from homefeed.models import Interactions
from homefeed.models.context import DAY, RequestContext, hour_bands, weekdays
from homefeed.ranking.context import CONTEXT_FEATURES, ContextStats, contexts_of
from homefeed.ranking.features import feature_list
from homefeed.ranking.ltr import RankerRecommender
from homefeed.store import Store

NIGHT = 10 * DAY + 3_600.0  # 01:00 UTC on a Sunday
NOON = 10 * DAY + 13 * 3_600.0


def _day_and_night() -> Interactions:
    """Items 0-9 picked at night on mobile by users 0-9; items 10-19 at noon on a TV by
    users 10-19 (written " TV " once, to check that values are normalized)."""
    rows = []
    for user in range(20):
        night = user < 10
        for item in range(0, 10) if night else range(10, 20):
            device = "mobile" if night else (" TV " if item == 10 else "tv")
            rows.append(
                (f"u{user:02d}", f"i{item:02d}", "click", (NIGHT if night else NOON) + item, device, None)
            )
    return Interactions.from_rows(rows, {"click": 1.0}, [f"i{i:02d}" for i in range(20)])


def test_lifts_age_and_interest_match_have_known_values() -> None:
    data = _day_and_night()
    data.item_fields = [
        ItemFields(title=f"t{i}", published_at=NIGHT - 9 * DAY if i == 0 else None) for i in range(20)
    ]
    stats = ContextStats.from_data(data)
    assert stats.values["device"] == ["mobile", "tv"] and "surface" not in stats.values
    text = np.zeros((20, 4), dtype=np.float32)
    text[:10, 0], text[10:, 1] = 1.0, 1.0
    liked, disliked = text[[0]], text[[10]]
    context = RequestContext(time=NIGHT + 30.0, device=" Mobile", liked=liked, disliked=disliked)
    columns = dict(
        zip(
            [name for name, *_ in CONTEXT_NAMES],
            stats.features(context, np.array([0, 10]), text),
            strict=True,
        )
    )
    assert columns["hour_of_day"].tolist() == [0.0, 0.0] and columns["day_of_week"].tolist() == [6.0, 6.0]
    # 100 of 200 picks fall in each band: share (100 + 1) / (200 + 8); an item's 10 picks all
    # in one band, smoothed with 20 pseudo-picks: log((10 + 20 share) / 30 / share)
    share = 101 / 208
    expected = math.log((10 + 20 * share) / 30 / share)
    assert columns["hour_lift"][0] == pytest.approx(expected, abs=1e-5)
    assert columns["hour_lift"][1] == pytest.approx(math.log(20 * share / 30 / share), abs=1e-5)
    assert columns["device_lift"][0] > 0 > columns["device_lift"][1]
    assert columns["surface_lift"].tolist() == [0.0, 0.0]  # no event said where it happened
    sunday = 201 / 207  # every pick: the Laplace-smoothed share leaves a small lift
    assert columns["weekday_lift"].tolist() == pytest.approx([math.log((10 + 20 * sunday) / 30 / sunday)] * 2)
    # item 0 was published 9 days before; item 10 first picked 12 hours later (not yet there)
    assert columns["item_age"][0] == pytest.approx(math.log1p(9 + 30 / DAY))
    assert columns["item_age"][1] == pytest.approx(-math.log1p((NOON + 10 - NIGHT - 30) / DAY))
    assert columns["interests_match"].tolist() == [1.0, 0.0]
    assert columns["interests_aversion"].tolist() == [0.0, 1.0]
    assert [f.name for f in feature_list([])[-len(CONTEXT_NAMES) :]] == [name for name, *_ in CONTEXT_NAMES]
    unknown = stats.features(RequestContext(), np.array([0]), None)
    defaults = [default for _, default, _ in CONTEXT_NAMES]
    assert [float(column[0]) for column in unknown] == defaults


CONTEXT_NAMES = list(CONTEXT_FEATURES)


def test_offline_context_is_the_latest_known_event() -> None:
    data = _day_and_night()
    data.interests = {"u03": (np.ones((1, 4), np.float32), np.zeros((0, 4), np.float32))}
    night, noon = contexts_of(data, [3, 12])
    assert night.time == NIGHT + 9 and night.device == "mobile" and night.liked is not None
    assert noon.time == NOON + 19 and noon.device == "tv" and noon.liked is None
    assert hour_bands(np.array([NIGHT, NOON])).tolist() == [0, 4] and weekdays(
        np.array([NIGHT])
    ).tolist() == [6]


def _devices(n_users: int = 240, seed: int = 0) -> Interactions:
    """Every user first picks 4 of the everyday items 40-49 on a desktop, then 12 items on
    their own device: TV users among items 0-19, mobile users among 20-39. Both groups are
    equally popular, at random hours: only the device tells which group comes next."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        device, own = ("tv", range(0, 20)) if user % 2 == 0 else ("mobile", range(20, 40))
        picks = (
            rng.choice(range(40, 50), 4, replace=False).tolist()
            + rng.choice(list(own), 12, replace=False).tolist()
        )
        start = float(rng.integers(0, 50)) * DAY
        for step, item in enumerate(picks):
            when = start + float(rng.integers(0, DAY)) + step * DAY
            rows.append(
                (f"u{user:03d}", f"i{item:02d}", "click", when, "desktop" if step < 4 else device, None)
            )
    return Interactions.from_rows(rows, {"click": 1.0}, [f"i{i:02d}" for i in range(50)])


def test_the_ranker_learns_which_items_each_device_picks(tmp_path: Path) -> None:
    data = _devices()
    ranker = RankerRecommender(
        sources={"popularity": {"half_life_days": None}}, per_source=50, n_estimators=100
    ).fit(data)
    assert ranker.report["importance"]["device_lift"] == max(ranker.report["importance"].values())
    history = [np.array([40, 41])]
    for device, own in (("tv", range(0, 20)), ("mobile", range(20, 40))):
        scores = ranker.score_new_users(history, [None], [RequestContext(time=60 * DAY, device=device)])[0]
        scores[history[0]] = -np.inf
        top = np.argsort(-scores)[:10]
        assert sum(int(item) in own for item in top) >= 9, (device, top)
    ranker.save(tmp_path / "ranker")
    loaded = RankerRecommender.load(tmp_path / "ranker")
    context = [RequestContext(time=60 * DAY, device="tv")]
    np.testing.assert_allclose(
        loaded.score_new_users(history, [None], context), ranker.score_new_users(history, [None], context)
    )


def test_events_bring_their_device_and_surface_to_training(store: Store) -> None:
    store.add_events(
        [
            Event(
                user_id="u1",
                item_id="a",
                type="click",
                timestamp=1.0,
                context={"device": "Mobile", "surface": "app-home"},
            ),
            Event(user_id="u1", item_id="b", type="click", timestamp=2.0, context={"page": 2}),
            Event(user_id="u2", item_id="a", type="click", timestamp=3.0, context={"device": 7}),
        ]
    )
    rows = list(store.logs.iter_event_rows())
    assert [row[4:6] for row in rows] == [("Mobile", "app-home"), (None, None), ("7", None)]
    data = Interactions.from_rows(rows, {"click": 1.0})
    assert data.contexts["device"].tolist() == ["mobile", "", "7"]
    assert data.contexts["surface"].tolist() == ["app-home", "", ""]
