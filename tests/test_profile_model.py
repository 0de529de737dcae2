"""The new-user model: profile groups and first events tilt popularity the planted way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from homefeed.config import Settings
from homefeed.domain import UserProfile
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.evaluator import Evaluation
from homefeed.evaluation.protocols import cold_users
from homefeed.models import Interactions
from homefeed.models import profile as profile_module
from homefeed.models.context import DAY, RequestContext
from homefeed.models.popularity import PopularityRecommender
from homefeed.models.profile import ProfileRecommender, profile_groups

WEIGHTS = {"click": 1.0}
ITEMS = [f"i{i:02d}" for i in range(40)]
WOMAN = UserProfile(age=27, gender="F")
MAN = UserProfile(age=44, gender="M")


def _planted(seed: int = 0) -> Interactions:
    """Everyone picks the blockbusters 0-3; women pick among 10-19, men among 20-29; whoever
    picks item 30 also picks 31-34 (a series), and a few random others pick 35-39."""
    rng = np.random.default_rng(seed)
    rows, profiles = [], {}
    for user in range(80):
        user_id = f"u{user:02d}"
        woman = user % 2 == 0
        profiles[user_id] = UserProfile(age=20 + user % 40, gender="F" if woman else "M")
        picks = [0, 1, 2, 3, *rng.choice(range(10, 20) if woman else range(20, 30), 5, replace=False)]
        if user % 8 == 0:
            picks += [30, 31, 32, 33, 34]
        picks += rng.choice(range(35, 40), 2, replace=False).tolist()
        rows += [(user_id, ITEMS[item], "click", float(step)) for step, item in enumerate(picks)]
    data = Interactions.from_rows(rows, WEIGHTS, ITEMS)
    data.profiles = profiles
    return data


def _top(model: ProfileRecommender, history: list[int], profile: UserProfile | None, n: int) -> list[int]:
    scores = model.score_new_users([np.array(history, dtype=np.int64)], [profile])[0]
    scores[history] = -np.inf
    return [int(i) for i in np.argsort(-scores, kind="stable")[:n]]


def test_profile_groups_name_gender_and_age_decade() -> None:
    assert profile_groups(UserProfile(age=27, gender=" F "), ("gender", "age")) == ["gender=f", "age=20s"]
    assert profile_groups(UserProfile(age=71), ("gender", "age", "occupation")) == ["age=60s"]
    assert profile_groups(None, ("gender",)) == []
    with pytest.raises(ValueError, match="unknown profile fields"):
        ProfileRecommender(fields=("shoe_size",))
    pro = UserProfile(attributes={"plan": "Pro", "score": 0.5, "tags": ["a"]})
    fields = ("attributes.plan", "attributes.score", "attributes.tags", "attributes.none")
    assert profile_groups(pro, fields) == ["attributes.plan=pro"]  # categories only


def test_a_profile_attribute_tilts_the_page_when_the_model_reads_it() -> None:
    """Planted: people on the "pro" plan pick among 20-29, the others among 10-19; gender
    says nothing. The model reading attributes.plan finds it; the default one cannot."""
    data = _planted()
    data.profiles = {
        user_id: UserProfile(gender="F", attributes={"plan": "pro" if int(user_id[1:]) % 2 else "free"})
        for user_id in data.user_ids
    }
    reading = ProfileRecommender(fields=("attributes.plan",), profile_weight=1.0).fit(data)
    default = ProfileRecommender(profile_weight=1.0).fit(data)
    pro = UserProfile(gender="F", attributes={"plan": "pro"})
    found, plain = _top(reading, [], pro, 10)[4:], _top(default, [], pro, 10)[4:]  # after the blockbusters
    assert sum(20 <= item < 30 for item in found) >= 5
    assert sum(20 <= item < 30 for item in plain) <= 3


def test_a_new_users_profile_brings_what_people_like_them_pick() -> None:
    model = ProfileRecommender(profile_weight=1.0).fit(_planted())
    blockbusters = {0, 1, 2, 3}
    for profile, own in ((WOMAN, range(10, 20)), (MAN, range(20, 30))):
        top = _top(model, [], profile, 10)
        assert set(top[:4]) == blockbusters  # still the most popular first
        assert sum(item in own for item in top[4:]) >= 5
    neutral = ProfileRecommender(profile_weight=0.0).fit(_planted())
    popularity = PopularityRecommender(half_life_days=None).fit(_planted())
    assert _top(neutral, [], WOMAN, 4) == [int(i) for i in np.argsort(-popularity.scores, kind="stable")[:4]]


def test_the_first_events_bring_what_is_picked_with_them() -> None:
    model = ProfileRecommender(history_weight=1.0).fit(_planted())
    top = _top(model, [30], None, 10)
    assert {31, 32, 33, 34} <= set(top)
    assert 30 not in top


def test_known_users_score_like_new_users_with_the_same_profile_and_history(tmp_path: Path) -> None:
    data = _planted()
    model = ProfileRecommender().fit(data)
    user = data.user_ids.index("u00")
    history = data.sequences()[user][0]
    expected = model.score_new_users([history], [data.profiles["u00"]])[0]
    np.testing.assert_allclose(model.score_users(np.array([user]))[0], expected, rtol=1e-5)
    model.save(tmp_path / "profile")
    loaded = ProfileRecommender.load(tmp_path / "profile")
    np.testing.assert_allclose(loaded.score_new_users([history], [WOMAN])[0], expected, rtol=1e-5)
    assert loaded.config() == model.config()


def test_cold_user_evaluation_hands_the_profile_to_the_model(tmp_path: Path) -> None:
    """In a data set where gender decides taste, the profile model beats popularity at k = 0."""
    rng = np.random.default_rng(3)
    users = "".join(f"{u},{20 + u % 30},{'F' if u % 2 else 'M'}\n" for u in range(120))
    events = []
    for u in range(120):
        own = range(1, 11) if u % 2 else range(11, 21)
        events += [f"{u},{i},click,{u * 100 + n}\n" for n, i in enumerate(rng.choice(own, 6, replace=False))]
    (tmp_path / "items.csv").write_text(
        "id,title\n" + "".join(f"{i},Item {i}\n" for i in range(1, 21)), encoding="utf-8"
    )
    (tmp_path / "users.csv").write_text("id,age,gender\n" + users, encoding="utf-8")
    header = "user_id,item_id,type,timestamp\n"
    (tmp_path / "events.csv").write_text(header + "".join(events), encoding="utf-8")
    dataset = EvalDataset.load(tmp_path, Settings().event_weights)
    evaluation = Evaluation(dataset, cold_users(dataset, 0), [5])
    by_profile = evaluation.run(lambda: ProfileRecommender(profile_weight=1.0)).metrics["recall@5"]
    by_popularity = evaluation.run(lambda: PopularityRecommender(half_life_days=None)).metrics["recall@5"]
    assert by_profile > 0.4 > 0.3 > by_popularity  # taking own items: 5 x 6/10 hits of 6 = 0.5


def _seasons() -> Interactions:
    """Winter films 0-4 are picked in January, summer films 5-9 in June, equally often in all;
    everyone also picks the evergreen 10 at some point."""
    rng = np.random.default_rng(5)
    rows = []
    for user in range(60):
        summer = user % 2 == 1
        start = (150 if summer else 0) * DAY + float(rng.uniform(0, 25 * DAY))
        picks = [*rng.choice(range(5, 10) if summer else range(5), 3, replace=False).tolist(), 10]
        rows += [(f"u{user:02d}", ITEMS[item], "click", start + step) for step, item in enumerate(picks)]
    return Interactions.from_rows(rows, WEIGHTS, ITEMS)


def _newcomer(model: ProfileRecommender, time: float | None) -> np.ndarray:
    """Scores for a user with no profile and no history, asking at ``time``."""
    return model.score_new_users([np.array([], dtype=np.int64)], [None], [RequestContext(time=time)])[0]


def test_a_newcomer_gets_what_was_picked_in_the_weeks_before_they_arrive(tmp_path: Path) -> None:
    model = ProfileRecommender(trend_days=30.0, trend_weight=0.5, trend_smoothing=10.0).fit(_seasons())

    def top(time: float) -> list[int]:
        return [int(i) for i in np.argsort(-_newcomer(model, time), kind="stable")[:6]]

    assert top(28 * DAY)[0] == 10 and set(top(28 * DAY)[1:]) == set(range(5))
    assert top(178 * DAY)[0] == 10 and set(top(178 * DAY)[1:]) == set(range(5, 10))
    # no time, or nothing picked in the month before: all-time popularity, unchanged
    all_time = model.score_new_users([np.array([], dtype=np.int64)], [None])[0]
    np.testing.assert_allclose(_newcomer(model, None), all_time)
    np.testing.assert_allclose(_newcomer(model, 100 * DAY), all_time)
    np.testing.assert_allclose(all_time, model.log_popularity)
    # after the newest pick (a request made after training) the last month of training counts
    assert set(top(400 * DAY)[1:]) == set(range(5, 10))
    assert not np.allclose(_newcomer(model, 400 * DAY), all_time)
    # picks after the request's time never count: at day 28 the June films are all-time popular only
    early = _newcomer(model, 28 * DAY)
    assert early[5] < all_time[5]
    model.save(tmp_path / "profile")
    loaded = ProfileRecommender.load(tmp_path / "profile")
    np.testing.assert_allclose(_newcomer(loaded, 28 * DAY), early)
    flat = ProfileRecommender(trend_weight=0.0).fit(_seasons())
    np.testing.assert_allclose(_newcomer(flat, 28 * DAY), all_time)


def test_the_trend_is_computed_once_per_window_and_never_shared_for_writing() -> None:
    model = ProfileRecommender(trend_days=30.0, trend_weight=0.5, trend_smoothing=10.0).fit(_seasons())
    later = model.base_scores(RequestContext(time=400 * DAY))
    assert model._trend_cache is not None
    cached = model._trend_cache[1]
    # every request after the newest pick reads the same window: the computed scores are reused
    again = model.base_scores(RequestContext(time=500 * DAY))
    np.testing.assert_array_equal(again, later)
    assert model._trend_cache[1] is cached
    again[:] = 0.0  # a caller changing its scores in place does not change the next request's
    np.testing.assert_array_equal(model.base_scores(RequestContext(time=450 * DAY)), later)
    # another window is computed afresh, and a refit on other data forgets the old window
    assert not np.allclose(model.base_scores(RequestContext(time=28 * DAY)), later)
    model.base_scores(RequestContext(time=400 * DAY))
    model.fit(_seasons_shifted())
    assert not np.allclose(model.base_scores(RequestContext(time=400 * DAY)), later)


def _seasons_shifted() -> Interactions:
    """The same picks with winter and summer films swapped."""
    data = _seasons()
    swapped = np.where(data.items < 5, data.items + 5, np.where(data.items < 10, data.items - 5, data.items))
    return Interactions(data.user_ids, data.item_ids, data.users, swapped, data.weights, data.timestamps)


def test_item_lifts_counted_a_block_at_a_time_equal_the_whole_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 100,000 items every co-count at once took GBs, so they are counted in blocks of
    items; the kept neighbours (ties at the cut included) and their lifts stay the same."""
    data = _planted()
    whole = ProfileRecommender(neighbours=3).fit(data)
    monkeypatch.setattr(profile_module, "PAIR_BLOCK", 7 * len(ITEMS))  # blocks of 7 items
    blocked = ProfileRecommender(neighbours=3).fit(data)
    assert (blocked.item_lift != whole.item_lift).nnz == 0
    assert np.array_equal(blocked.item_lift.indices, whole.item_lift.indices)
    assert whole.item_lift.getnnz(axis=1).max() == 3
    # whoever picked 30 picked the blockbusters and the series too: 8 items tied at 3 kept
    assert set(whole.item_lift[30].indices) <= {0, 1, 2, 3, 31, 32, 33, 34}
    assert _top(blocked, [30], None, 4) == _top(whole, [30], None, 4)
