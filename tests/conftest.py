"""Shared fixtures: real SQLite and PostgreSQL databases, synthetic data, trained models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa

from homefeed.config import Settings
from homefeed.datasets.folders import folder_records
from homefeed.datasets.importer import Importer
from homefeed.datasets.synth import SynthConfig, generate
from homefeed.store import Store, migrate, scratch_database
from homefeed.training.trainer import train_bundle

POSTGRES_ADMIN_URL = os.environ.get(
    "HOMEFEED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED_ML100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database(POSTGRES_ADMIN_URL, "homefeed_test"))
        except sa.exc.OperationalError as error:  # pragma: no cover - environment problem
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error}")
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'homefeed.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    instance = Store.from_url(database_url)
    migrate(instance.engine)
    yield instance
    instance.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings on a temporary store; training uses every event (the quality gate, which holds
    the newest out, is tested on its own in test_quality_gate.py)."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, gate={"enabled": False})


@pytest.fixture(scope="session")
def synth_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic data set with planted tastes (shared by the whole session)."""
    folder = tmp_path_factory.mktemp("synth")
    generate(SynthConfig(users=300, items=240, days=30, topics=6, seed=7), folder)
    return folder


def load_folder(store: Store, settings: Settings, folder: Path) -> None:
    records = folder_records(folder)
    Importer(store, settings.event_weights).run(records.items, records.users, records.events)


@pytest.fixture
def trained(store: Store, settings: Settings, synth_folder: Path) -> tuple[Store, Settings]:
    """A store loaded with the synthetic data set and one trained model version."""
    load_folder(store, settings, synth_folder)
    train_bundle(store, settings)
    return store, settings
