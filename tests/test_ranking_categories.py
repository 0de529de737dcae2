"""Category features of the ranker, on planted tastes: women pick dramas, men comedies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from homefeed.domain import ItemFields, UserProfile
from homefeed.models import Interactions
from homefeed.ranking.categories import CategoryStats
from homefeed.ranking.features import recent_weighted
from homefeed.ranking.ltr import RankerRecommender

from .test_ranker import _groups

WOMAN, MAN = UserProfile(gender="F", age=31), UserProfile(gender="M", age=34)


def _planted() -> Interactions:
    """_groups' users (even: items 0-29, odd: 30-59, all: a few of 60-69 first), with even
    users women and odd users men, and the items' categories: dramas, comedies, news; plus
    newcomers who read four news items, then picked three of their group's items (held out
    in training, so only the profile tells what they pick next)."""
    rng = np.random.default_rng(1)
    rows = [(u, f"i{i:02d}", "click", float(t)) for u, i, t in _rows(_groups())]
    for user in range(160, 320):
        own = range(0, 30) if user % 2 == 0 else range(30, 60)
        picks = (
            rng.choice(range(60, 70), 4, replace=False).tolist()
            + rng.choice(list(own), 3, replace=False).tolist()
        )
        rows += [(f"u{user:03d}", f"i{item:02d}", "click", float(step)) for step, item in enumerate(picks)]
    data = Interactions.from_rows(rows, {"click": 1.0}, [f"i{i:02d}" for i in range(70)])
    kinds = ["drama"] * 30 + ["comedy"] * 30 + ["news"] * 10
    data.item_fields = [
        ItemFields(title=f"item {i}", category=kind, tags=[kind]) for i, kind in enumerate(kinds)
    ]
    data.profiles = {user_id: WOMAN if int(user_id[1:]) % 2 == 0 else MAN for user_id in data.user_ids}
    return data


def _rows(data: Interactions) -> list[tuple[str, int, float]]:
    return [
        (data.user_ids[u], int(i), float(t))
        for u, i, t in zip(data.users, data.items, data.timestamps, strict=True)
    ]


def test_affinity_is_the_recency_weighted_share_of_the_history_in_the_items_category() -> None:
    stats = CategoryStats.from_data(_planted())
    drama, comedy, news = 3, 40, 65
    candidates = np.array([drama, comedy, news])

    def affinity(history: list[int]) -> list[float]:
        return stats.affinity(*recent_weighted(np.array(history, dtype=np.int64)), candidates).tolist()

    assert affinity([0, 1, 2]) == pytest.approx([1.0, 0.0, 0.0])
    mixed = affinity([0, 1, 31])  # the latest one a comedy
    weights = 0.5 ** (np.array([2.0, 1.0, 0.0]) / 10)
    assert mixed == pytest.approx([weights[:2].sum() / weights.sum(), weights[2] / weights.sum(), 0])
    assert affinity([]) == [0.0, 0.0, 0.0]


def test_profile_lift_favours_what_the_users_group_picks() -> None:
    stats = CategoryStats.from_data(_planted())
    assert {"gender=f", "gender=m", "age=30s"} <= set(stats.groups)
    candidates = np.array([3, 40, 65])
    woman = stats.profile_lift(UserProfile(gender="F"), candidates)
    man = stats.profile_lift(UserProfile(gender="M"), candidates)
    assert woman[0] > 0.5 and woman[1] < -0.5 and man[1] > 0.5 and man[0] < -0.5
    assert abs(woman[2]) < 0.1  # everyone reads the news alike
    assert stats.profile_lift(None, candidates).tolist() == [0.0, 0.0, 0.0]
    assert stats.profile_lift(UserProfile(gender="X"), candidates).tolist() == [0.0, 0.0, 0.0]


def test_the_ranker_reads_the_profile_of_a_user_with_no_telling_history(tmp_path: Path) -> None:
    data = _planted()
    sources = {"profile": {}, "popularity": {}, "itemknn": {}}
    ranker = RankerRecommender(sources=sources, per_source=70, n_estimators=100, holdout=3).fit(data)
    assert ranker.report["importance"]["profile_category_lift"] > 0
    ranker.save(tmp_path / "ranker")
    loaded = RankerRecommender.load(tmp_path / "ranker")
    assert loaded.categories.groups == ranker.categories.groups
    news_only = [np.array([60, 61, 62, 63]) + offset for offset in range(0, 6)]  # no drama, no comedy
    hits = {}
    for profile, own in ((WOMAN, range(0, 30)), (MAN, range(30, 60))):
        scores = loaded.score_new_users(news_only, [profile] * len(news_only))
        for row, history in enumerate(news_only):
            scores[row, history] = -np.inf
        top = np.argsort(-scores, axis=1)[:, :5]
        hits[profile.gender] = np.isin(top, list(own)).mean()
    assert hits["F"] >= 0.9 and hits["M"] >= 0.9  # the same histories: only the profile differs
    features = loaded.features_of(news_only[0], np.array([3, 40]), WOMAN)
    assert features[0]["profile_category_lift"] > 0 > features[1]["profile_category_lift"]
