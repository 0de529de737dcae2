"""Imports never make the request path wait for them: rows are checked into a staging file
without touching the store, then merged in short transactions, so event POSTs during an import
on SQLite wait for one chunk at most, not the import; an import stopped during its merge is
finished exactly once by the next start."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.datasets.importer import Importer, finish_interrupted_imports
from homefeed.datasets.records import Record
from homefeed.errors import RowError
from homefeed.service import create_app
from homefeed.store import Store, bulk, imports


def _records(n_items: int, n_events: int, tag: str = "") -> tuple[list[Record], list[Record]]:
    items = [Record("items.jsonl", n + 1, {"id": f"i{n}", "title": f"Item {n}"}) for n in range(n_items)]
    events = [
        Record(
            "events.jsonl",
            n + 1,
            {
                "event_id": f"{tag}e{n}",
                "user_id": f"u{n % 500}",
                "item_id": f"i{n % n_items}",
                "type": "click",
                "timestamp": 1.7e9 + n,
            },
        )
        for n in range(n_events)
    ]
    return items, events


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_event_posts_during_an_import_do_not_wait_for_it(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    items, events = _records(200, 100_000)  # one transaction held the lock 3.3-3.6 s for these
    quiet = settings.model_copy(update={"catalog_poll_seconds": 0, "model_poll_seconds": 0})
    with TestClient(create_app(quiet)) as client:
        client.put("/v1/items/live", json={"title": "Live"})
        importer = Importer(store, settings.event_weights, staging_dir=tmp_path / "imports")
        outcome: dict[str, object] = {}
        importing = threading.Thread(target=lambda: outcome.update(summary=importer.run(items, (), events)))
        began_import = time.perf_counter()
        importing.start()
        waits: list[float] = []
        number = 0
        while importing.is_alive():
            number += 1
            began = time.perf_counter()
            answer = client.post(
                "/v1/events",
                json={
                    "events": [
                        {"event_id": f"live-{number}", "user_id": "x", "item_id": "live", "type": "click"}
                    ]
                },
            )
            waits.append(time.perf_counter() - began)
            assert answer.status_code == 200, answer.text
            time.sleep(0.02)
        importing.join()
        import_seconds = time.perf_counter() - began_import
    assert outcome["summary"].events == 100_000  # type: ignore[attr-defined]
    assert len(waits) >= 20, "the import ended before the posts could overlap it"
    # a chunk holds the lock about MERGE_SECONDS (0.25 s); the bound on the slowest leaves room for this VM's
    # disk stalls (fresh-clone runs saw a 1.35 s and a 2.35 s one, on a slower machine whose
    # import took longer too), far below the whole import's time
    waits.sort()
    assert waits[int(len(waits) * 0.95)] < 0.5, (
        f"p95 of the POSTs' waits: {waits[int(len(waits) * 0.95)]:.2f} s"
    )
    slowest = max(2.0, import_seconds / 4)
    assert waits[-1] < slowest, f"an event POST waited {waits[-1]:.2f} s of a {import_seconds:.1f} s import"
    assert store.counts()["events"] == 100_000 + len(waits)


def _read_indexes(store: Store) -> set[str]:
    return {
        str(index["name"]) for index in sa.inspect(store.engine).get_indexes("events") if not index["unique"]
    }


@pytest.mark.parametrize("rebuilding", [False, True], ids=["with-indexes", "indexes-rebuilt"])
def test_an_import_stopped_during_its_merge_is_finished_once(
    store: Store, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rebuilding: bool
) -> None:
    everything = {str(index.name) for index in bulk.read_indexes()}
    assert _read_indexes(store) == everything and len(everything) >= 3
    items, events = _records(50, 9_000)
    real_add = store.add_event_rows
    calls = {"n": 0}

    def failing_third_chunk(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process is stopped mid-merge
        return real_add(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "add_event_rows", failing_third_chunk)
    importer = Importer(
        store,
        settings.event_weights,
        staging_dir=tmp_path / "imports",
        merge_chunk=2000,
        merge_seconds=None,
        rebuild_from=1000 if rebuilding else 100_000,
    )
    with pytest.raises(KeyboardInterrupt):
        importer.run(items, (), events)
    monkeypatch.setattr(store, "add_event_rows", real_add)
    assert store.counts()["events"] == 4000  # two chunks went in; the third was rolled back
    # a large import into a small table went in without the read indexes
    assert _read_indexes(store) == (set() if rebuilding else everything)
    [pending] = imports.pending(store.engine)
    assert (pending.kind, pending.merged) == ("events", 4000) and Path(pending.staging).exists()
    assert finish_interrupted_imports(store) == 1
    assert store.counts()["events"] == 9000 and store.counts()["items"] == 50
    assert imports.pending(store.engine) == [] and not Path(pending.staging).exists()
    assert _read_indexes(store) == everything  # built again by the merge that finished it


def test_a_bad_row_anywhere_leaves_nothing_and_no_staging_file(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    items, events = _records(20, 5_000)
    bad = Record(
        "events.jsonl", 4_999, {"user_id": "u", "item_id": "i1", "type": "click", "timestamp": "soon"}
    )
    staging = tmp_path / "imports"
    with pytest.raises(RowError, match="line 4999"):
        Importer(store, settings.event_weights, staging_dir=staging).run(items, (), [*events[:-2], bad])
    assert store.counts()["events"] == 0 and store.counts()["items"] == 0
    assert list(staging.iterdir()) == [] and imports.pending(store.engine) == []
