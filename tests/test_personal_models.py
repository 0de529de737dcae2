"""Every registered model can back the page: the personal row follows the version's order
(chosen on validation, else configured), and any personal model the version holds serves it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from homefeed.config import Settings
from homefeed.errors import ConfigurationError
from homefeed.homepage import HomepagePipeline
from homefeed.live.catalog import Catalog
from homefeed.models.base import UserQuery
from homefeed.store import Store, migrate
from homefeed.training.registry import MODEL_CLASSES
from homefeed.training.trainer import train_bundle
from homefeed.training.versions import ModelBundle

from .conftest import load_folder

PERSONAL = sorted(name for name, cls in MODEL_CLASSES.items() if cls.personal)
NOT_PERSONAL = sorted(name for name, cls in MODEL_CLASSES.items() if not cls.personal)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, synth_folder: Path) -> tuple[Store, Path]:
    """One SQLite store holding the synthetic data set, shared by the module's tests."""
    folder = tmp_path_factory.mktemp("personal")
    store = Store.from_url(f"sqlite:///{folder / 'homefeed.db'}")
    migrate(store.engine)
    load_folder(store, Settings(data_dir=folder), synth_folder)
    return store, folder


def _settings(folder: Path, store: Store, name: str, **homepage: object) -> Settings:
    return Settings(
        data_dir=folder / name,
        database_url=str(store.engine.url),
        gate={"enabled": False},
        log_impressions=False,
        homepage={"exploration_slots": 0, "diversity": 0.0, **homepage},
    )


def _long_history_user(store: Store) -> str:
    counts = {user.id: len(store.logs.user_events(user.id, 1000)) for user in store.iter_users()}
    return max(sorted(counts), key=lambda user_id: counts[user_id])


def test_registry_says_which_models_score_a_users_taste() -> None:
    assert {"ease", "bpr", "als", "itemknn", "covisitation", "sequential", "ranker"} <= set(PERSONAL)
    assert NOT_PERSONAL == ["popularity", "profile", "random"]


@pytest.mark.slow
@pytest.mark.parametrize("name", PERSONAL)
def test_every_personal_model_backs_the_page(loaded: tuple[Store, Path], name: str) -> None:
    """A version holding only popularity and this model leads its pages with the model's own
    best unseen items, explained, though the configured order does not name the model."""
    store, folder = loaded
    settings = _settings(folder, store, name, personal_models=["als"] if name != "als" else ["ease"])
    bundle = train_bundle(store, settings, ["popularity", name])
    model = bundle.models[name]
    assert bundle.personal_order(settings.homepage.personal_models) == (name,)
    user_id = _long_history_user(store)
    page = HomepagePipeline(store, settings, Catalog(store.iter_items()), bundle).build(user_id, 10)
    assert not page.degraded, page.reasons
    mine = [item for item in page.items if item.source == name]
    assert len(mine) >= 5, [item.source for item in page.items]
    assert all(item.explanation.text for item in mine)
    seen = {event.item_id for event in store.logs.user_events(user_id, 1000)}
    assert not seen & {item.item_id for item in page.items}
    # the model's own ranking of the user's fresh history puts the page's items near its top
    events = store.logs.user_events(user_id, 1000)
    items = np.array([model.item_index(event.item_id) for event in events], dtype=np.int64)
    query = UserQuery(items, np.ones(len(items), dtype=np.float32))
    scores = np.asarray(model.score_user(query), dtype=np.float64)
    scores[items] = -np.inf
    best = {model.item_ids[i] for i in np.argsort(-scores, kind="stable")[:40]}
    assert sum(item.item_id in best for item in mine) >= 0.8 * len(mine)


@pytest.mark.parametrize("name", NOT_PERSONAL)
def test_a_version_without_personal_models_still_serves(loaded: tuple[Store, Path], name: str) -> None:
    store, folder = loaded
    settings = _settings(folder, store, f"plain-{name}")
    bundle = train_bundle(store, settings, [name] if name != "popularity" else ["popularity"])
    assert bundle.personal_order(settings.homepage.personal_models) == ()
    page = HomepagePipeline(store, settings, Catalog(store.iter_items()), bundle).build(
        _long_history_user(store), 10
    )
    assert len(page.items) == 10
    assert not {item.source for item in page.items} & set(PERSONAL)


def test_the_order_chosen_on_validation_comes_before_the_configured_one(tmp_path: Path) -> None:
    models = {name: MODEL_CLASSES[name]() for name in ("popularity", "als", "ease", "bpr")}
    chosen = ModelBundle("v", tmp_path, {"selection": {"personal": ["ease", "als"]}}, dict(models))
    assert chosen.personal_order(["als", "covisitation"]) == ("ease", "als", "bpr")
    configured = ModelBundle("v", tmp_path, {}, dict(models))
    assert configured.personal_order(["bpr", "covisitation"]) == ("bpr", "als", "ease")


def test_an_unknown_personal_model_is_refused_at_start(loaded: tuple[Store, Path]) -> None:
    store, folder = loaded
    settings = _settings(folder, store, "unknown", personal_models=["als", "deepfm"])
    with pytest.raises(ConfigurationError, match=r"personal_models.*deepfm"):
        HomepagePipeline(store, settings, Catalog(store.iter_items()))
