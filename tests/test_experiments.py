"""A/B experiments: arms checked at start-up, stable assignment by weight, each arm's pages
built with its own settings, impressions carrying the arm, and CTR/CVR per arm from the log."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from homefeed.config import ExperimentSettings, Settings
from homefeed.domain import Event, Impression
from homefeed.errors import ConfigurationError, NotFoundError
from homefeed.feedback.experiments import report
from homefeed.feedback.statistics import RatioSample, impression_level_p_value
from homefeed.homepage import HomepagePipeline
from homefeed.homepage.experiments import assign_arm
from homefeed.live.catalog import Catalog
from homefeed.service import create_app
from homefeed.store import Store
from homefeed.store import experiments as stored
from homefeed.training.versions import latest_version_path, load_bundle

QUIET = {"sources": ["personal"], "exploration_slots": 0}  # no explore or trending rows


def _experiment(**arms: dict[str, object]) -> dict[str, object]:
    return {"name": "quiet-page", "arms": {name: {"homepage": change} for name, change in arms.items()}}


def test_an_arm_with_an_unknown_or_invalid_setting_fails_naming_the_arm_and_field() -> None:
    with pytest.raises(
        ValidationError, match=r"experiment.arms.b.homepage: unknown field\(s\) \['diversty'\]"
    ):
        Settings(experiment=_experiment(a={}, b={"diversty": 0.0}))
    with pytest.raises(ValidationError, match=r"experiment.arms.b.homepage: diversity: Input should be less"):
        Settings(experiment=_experiment(a={}, b={"diversity": 3}))
    with pytest.raises(ValidationError, match="at least 2 items"):
        Settings(experiment=_experiment(a={}))
    settings = Settings(experiment=_experiment(a={}, b={"diversity": 0.0}))
    assert settings.for_arm("b").homepage.diversity == 0.0
    assert settings.for_arm("a").homepage == settings.homepage


def test_an_arm_naming_an_unknown_component_fails_start_up(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    wrong = settings.model_copy(update={"experiment": ExperimentSettings.model_validate(
        _experiment(a={}, b={"fill": ["telepathy"]}))})  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"experiment.arms.b.homepage.fill: unknown component"):
        HomepagePipeline(store, wrong, Catalog(store.iter_items()))


def test_users_split_by_arm_weight_and_always_land_in_the_same_arm() -> None:
    experiment = ExperimentSettings.model_validate(
        {"name": "e1", "arms": {"control": {"weight": 1}, "treatment": {"weight": 3}}}
    )
    arms = Counter(assign_arm(experiment, f"user-{n}") for n in range(8000))
    assert abs(arms["treatment"] / 8000 - 0.75) < 0.02
    assert all(assign_arm(experiment, f"user-{n}") == assign_arm(experiment, f"user-{n}") for n in range(50))
    renamed = experiment.model_copy(update={"name": "e2"})
    moved = sum(assign_arm(experiment, f"user-{n}") != assign_arm(renamed, f"user-{n}") for n in range(2000))
    assert 400 < moved < 1100  # a new experiment draws afresh (expected 2 * 0.25 * 0.75 = 37.5 %)


def test_each_arm_builds_its_pages_with_its_own_settings_and_impressions_record_it(
    trained: tuple[Store, Settings],
) -> None:
    store, settings = trained
    arms = ExperimentSettings.model_validate(_experiment(control={}, quiet=QUIET))
    chosen = settings.model_copy(update={"experiment": arms})
    path = latest_version_path(settings.effective_models_dir)
    assert path is not None
    with TestClient(create_app(chosen)) as client:
        users = store.logs.sample_user_ids(60)
        pages = [client.get(f"/v1/users/{user}/homepage?n=20").json() for user in users]
    by_arm: dict[str, list[dict[str, object]]] = {}
    for page in pages:
        assert page["experiment"] == "quiet-page"
        assert page["arm"] == assign_arm(arms, str(page["user_id"]))
        by_arm.setdefault(str(page["arm"]), []).append(page)
    assert set(by_arm) == {"control", "quiet"}
    sources = {
        arm: {item["source"] for page in group for item in page["items"]} for arm, group in by_arm.items()
    }
    assert {"explore", "trending"} <= sources["control"]
    assert not {"explore", "trending"} & sources["quiet"]
    logged = store.engine.connect().exec_driver_sql(
        "SELECT DISTINCT user_id, experiment, arm FROM impressions"
    )
    recorded = {row[0]: (row[1], row[2]) for row in logged}
    assert recorded == {str(p["user_id"]): ("quiet-page", str(p["arm"])) for p in pages}
    pipeline = HomepagePipeline(store, settings, Catalog(store.iter_items()), load_bundle(path))
    page = pipeline.build(str(pages[0]["user_id"]), 10)  # no experiment configured: none recorded
    assert page.experiment is None and page.arm is None


def test_ctr_and_cvr_count_events_after_an_impression_within_the_window(
    store: Store, settings: Settings
) -> None:
    """Arm a: 25 users, 100 impressions, 30 clicked within the hour (6 of them bought); arm b:
    25 users, 100 impressions, 10 clicked. Events before the impression, after the window, on
    another item or by another user do not count, nor do users of another experiment."""
    now = time.time() - 86_400
    stored.add(store.engine, "exp", {"a": {}, "b": {}}, "api")
    shown, done = [], []
    for arm, clicks, buys in (("a", 30, 6), ("b", 10, 0)):
        for n in range(100):
            user, item = f"{arm}-user-{n % 25}", f"item-{n}"
            shown.append(Impression(f"r-{arm}-{n}", user, item, n % 10, "main", "als", "v1", now, "exp", arm))
            if n < clicks:
                done.append(Event(user_id=user, item_id=item, type="click", timestamp=now + 60))
            if n < buys:
                done.append(Event(user_id=user, item_id=item, type="purchase", timestamp=now + 120))
            if n >= clicks:  # none of these may count
                done.append(Event(user_id=user, item_id=item, type="click", timestamp=now - 60))
                done.append(Event(user_id=user, item_id=item, type="click", timestamp=now + 7200))
                done.append(Event(user_id=user, item_id=f"other-{n}", type="click", timestamp=now + 60))
                done.append(Event(user_id=f"other-{n}", item_id=item, type="click", timestamp=now + 60))
    shown.append(Impression("r-x", "z-user", "item-0", 0, "main", "als", "v1", now, "other-exp", "a"))
    store.logs.log_impressions(shown)
    store.add_events(done)
    counting = settings.model_copy(update={"click_types": ["click", "purchase"]})
    a, b = report(store, counting, "exp", window_hours=1, conversion_types=["purchase"]).arms
    assert (a.arm, a.users, a.impressions, a.clicked, a.converted) == ("a", 25, 100, 30, 6)
    assert (b.arm, b.users, b.impressions, b.clicked, b.converted) == ("b", 25, 100, 10, 0)
    assert a.ctr == pytest.approx(0.30) and b.cvr == 0.0 and a.ctr_test is None
    assert b.ctr_test is not None and b.ctr_test.difference == pytest.approx(-0.20)
    assert b.ctr_test.relative == pytest.approx(-2 / 3)
    assert b.ctr_test.p_value is not None and b.ctr_test.p_value < 0.001
    low, high = b.ctr_test.interval
    assert low < -0.20 < high < 0
    wide = report(store, counting, "exp", window_hours=3).arms
    assert [o.arm for o in wide] == ["a", "b"] and wide[0].clicked == 100  # the late clicks count now
    with pytest.raises(NotFoundError, match="no experiment named 'nothing-yet'"):
        report(store, counting, "nothing-yet")


def test_a_user_who_clicks_everything_is_one_unit_not_many_trials() -> None:
    """The arms are alike but for one user with 200 impressions who clicked 100: counted per
    impression the difference looks certain; per user it is one person, and the interval that
    resamples users covers no difference."""
    import numpy as np

    from homefeed.feedback.statistics import compare

    control = RatioSample(np.full(50, 4.0), np.array([1.0] * 10 + [0.0] * 40))
    heavy = RatioSample(np.array([200.0] + [4.0] * 49), np.array([100.0] + [1.0] * 10 + [0.0] * 39))
    impression_p = impression_level_p_value(control, heavy)
    per_user = compare(control, heavy, bootstrap_rounds=1000)
    assert impression_p is not None and impression_p < 1e-10
    assert per_user.p_value is not None and per_user.p_value > 0.01
    assert per_user.bootstrap is not None and per_user.bootstrap[0] < 0 < per_user.bootstrap[1]


def test_the_report_endpoint_gives_rates_per_arm_in_configured_order(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    chosen = settings.model_copy(
        update={"experiment": ExperimentSettings.model_validate(_experiment(control={}, quiet=QUIET))}
    )
    with TestClient(create_app(chosen)) as client:
        users = store.logs.sample_user_ids(30)
        pages = [client.get(f"/v1/users/{user}/homepage?n=10").json() for user in users]
        for page in pages[:10]:
            first = page["items"][0]["item_id"]
            answer = client.post(
                "/v1/events",
                json={"events": [{"user_id": page["user_id"], "item_id": first, "type": "click"}]},
            )
            assert answer.status_code < 300
        client.app.state.runtime.impressions.close()  # flush the impression log
        report = client.get("/v1/admin/experiments/quiet-page/report?window_hours=1").json()
    assert [arm["arm"] for arm in report["arms"]] == ["control", "quiet"]
    assert sum(arm["impressions"] for arm in report["arms"]) == 300
    assert sum(arm["clicked"] for arm in report["arms"]) >= 10
    assert "click" in report["click_types"] and report["conversion_types"] == ["purchase"]
