"""Several workers on one database: items written or deleted through one reach the others."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.domain import Item
from homefeed.service import create_app
from homefeed.service.runtime import Runtime
from homefeed.store import Store

DOC = {"title": "Astronaut, Rocket and Telescope", "category": "Space", "text": "Rockets and planets."}


def test_the_store_lists_changed_and_deleted_items_by_time(store: Store) -> None:
    store.upsert_items([Item(id="a", title="A"), Item(id="b", title="B")])
    middle = time.time()
    time.sleep(0.01)
    store.upsert_items([Item(id="c", title="C")])
    assert [item.id for item, _ in store.items_changed_since(0.0)] == ["a", "b", "c"]
    assert [item.id for item, _ in store.items_changed_since(middle)] == ["c"]
    assert store.delete_item("a") and not store.delete_item("missing")
    assert [item_id for item_id, _ in store.items_deleted_since(middle)] == ["a"]
    store.upsert_items([Item(id="a", title="A again")])  # written again: no longer deleted
    assert store.items_deleted_since(0.0) == []
    versions = store.item_versions()
    assert sorted(versions) == ["a", "b", "c"] and versions["c"] > versions["b"]
    assert [item.title for item in store.get_items(["c", "missing", "a", "c"])] == ["A again", "C"]


@pytest.fixture
def two_workers(trained: tuple[Store, Settings]) -> Iterator[tuple[TestClient, Runtime]]:
    """Worker A serves HTTP; worker B is a second runtime on the same database and models."""
    _store, settings = trained
    quiet = settings.model_copy(update={"catalog_poll_seconds": 0.0, "model_poll_seconds": 0.0})
    with TestClient(create_app(quiet)) as client:
        other = Runtime.start(quiet)
        try:
            yield client, other
        finally:
            other.close()


def test_items_written_and_deleted_through_one_worker_reach_another(
    two_workers: tuple[TestClient, Runtime],
) -> None:
    client, other = two_workers
    other.sync_catalog()  # the items imported just before it started fall in its first look's margin
    assert other.sync_catalog() == (0, 0)
    assert client.put("/v1/items/new-doc", json=DOC).status_code == 200
    assert "new-doc" not in other.catalog
    assert other.sync_catalog() == (1, 0)
    assert other.catalog.get("new-doc") is not None
    assert other.semantic is not None and "new-doc" in other.semantic.index
    vectors = other.homepages.new_vectors
    assert vectors is not None and "new-doc" in vectors.snapshot()[0]  # mapped for new-items too
    assert other.sync_catalog() == (0, 0)  # what was applied is not applied again
    assert client.put("/v1/items/new-doc", json={**DOC, "active": False}).status_code == 200
    assert other.sync_catalog() == (1, 0)
    entry = other.catalog.get("new-doc")
    assert entry is not None and not entry.active
    assert client.delete("/v1/items/new-doc").status_code == 204
    assert other.sync_catalog() == (0, 1)
    assert "new-doc" not in other.catalog and "new-doc" not in other.semantic.index
    assert "new-doc" not in vectors.snapshot()[0]
    assert client.put("/v1/items/new-doc", json=DOC).status_code == 200  # back again
    assert other.sync_catalog() == (1, 0) and "new-doc" in other.catalog


def test_an_item_a_worker_wrote_itself_and_another_deleted_before_its_look_is_gone(
    two_workers: tuple[TestClient, Runtime],
) -> None:
    client, other = two_workers
    other.sync_catalog()
    other.store.upsert_items([Item(id="own-doc", **DOC)])  # written through the other's own API ...
    other.items_written([Item(id="own-doc", **DOC)])
    assert "own-doc" in other.catalog
    assert client.delete("/v1/items/own-doc").status_code == 204  # ... deleted here before its look
    assert other.sync_catalog()[1] == 1
    assert "own-doc" not in other.catalog
    assert other.semantic is not None and "own-doc" not in other.semantic.index
    assert other.sync_catalog() == (0, 0)  # applied once


def test_a_full_look_finds_what_the_quick_look_cannot_see(two_workers: tuple[TestClient, Runtime]) -> None:
    """A write whose transaction began long before it committed carries an old write time, and a
    row deleted behind the store's back leaves no trace: comparing every item finds both."""
    _client, other = two_workers
    other.sync_catalog()
    store = other.store
    store.upsert_items([Item(id="late", title="Committed late")])
    gone = next(iter(other.catalog.ids()))
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE items SET updated_at = 1000 WHERE id = 'late'"))
        connection.execute(sa.text("DELETE FROM items WHERE id = :id"), {"id": gone})
    assert other.sync_catalog() == (0, 0) and "late" not in other.catalog
    assert other.sync_catalog(full=True) == (1, 1)
    assert "late" in other.catalog and gone not in other.catalog
    assert other.sync_catalog(full=True) == (0, 0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_worker_looks_for_changes_on_its_own(trained: tuple[Store, Settings]) -> None:
    store, settings = trained
    other = Runtime.start(
        settings.model_copy(update={"catalog_poll_seconds": 0.1, "model_poll_seconds": 0.0})
    )
    try:
        store.upsert_items([Item(id="imported", title="Imported by another process")])
        deadline = time.monotonic() + 10
        while "imported" not in other.catalog and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "imported" in other.catalog
    finally:
        other.close()
