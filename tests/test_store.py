"""The store on real SQLite and PostgreSQL databases."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from homefeed.domain import Event, Impression, Item, ShownPage, User
from homefeed.store import Store, migrate, scratch_database
from homefeed.store.migrate import current_revision
from tests.conftest import POSTGRES_ADMIN_URL


def test_migrations_are_idempotent(store: Store) -> None:
    migrate(store.engine)
    assert current_revision(store.engine) == "0017"
    assert set(sa.inspect(store.engine).get_table_names()) >= {
        "items",
        "users",
        "events",
        "impressions",
        "item_impressions",
        "item_deletions",
        "imports",
    }


def test_the_migrations_build_exactly_the_declared_schema(store: Store) -> None:
    """Tables, columns and indexes of ``schema.py`` and of the migrated database agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from homefeed.store.schema import metadata

    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_processes_starting_on_one_new_database_all_migrate_it(database_url: str) -> None:
    """Like `serve --workers 4` on a fresh database: four processes migrate it at once."""
    script = (
        "import sys; from homefeed.store import Store, migrate; migrate(Store.from_url(sys.argv[1]).engine)"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, database_url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    failures = [worker.stderr.read() for worker in workers if worker.wait(60) != 0 and worker.stderr]
    assert failures == []
    engine = sa.create_engine(database_url)
    assert current_revision(engine) == "0017"
    engine.dispose()


def test_items_round_trip_and_delete(store: Store) -> None:
    item = Item(
        id="a",
        title="Alpha",
        text="first",
        category="news",
        tags=["x"],
        attributes={"k": [1, 2]},
        creator="ann",
        published_at=1.5,
        image="posters/a.jpg",
        active=False,
    )
    store.upsert_items([item])
    assert store.get_item("a") == item
    store.upsert_items([Item(id="a", title="Alpha 2")])
    assert store.get_item("a") == Item(id="a", title="Alpha 2")
    assert store.delete_item("a") is True
    assert store.get_item("a") is None
    assert store.delete_item("a") is False


def test_events_are_stored_once_and_create_users(store: Store) -> None:
    store.upsert_items([Item(id="i1", title="one"), Item(id="i2", title="two")])
    batch = [
        Event(event_id="e1", user_id="u1", item_id="i1", type="click", timestamp=10),
        Event(
            event_id="e2",
            user_id="u1",
            item_id="i2",
            type="like",
            timestamp=20,
            context={"device": "tv"},
        ),
        Event(event_id="e1", user_id="u1", item_id="i1", type="click", timestamp=10),
        Event(user_id="u2", item_id="i2", type="view", timestamp=5),
    ]
    first = store.add_events(batch)
    assert (first.accepted, first.duplicates) == (3, 1)
    again = store.add_events(batch[:2])
    assert (again.accepted, again.duplicates) == (0, 2)
    assert store.counts()["events"] == 3
    assert [e.item_id for e in store.logs.user_events("u1", 10)] == ["i1", "i2"]
    assert [e.item_id for e in store.logs.user_events("u1", 1)] == ["i2"]
    assert store.get_user("u2") == User(id="u2")


def test_the_bulk_path_stores_rows_once_as_the_event_path_does(store: Store) -> None:
    """An import's rows (COPY on PostgreSQL): the same skips, users and stored fields."""
    store.upsert_items([Item(id="i1", title="one"), Item(id="i2", title="two")])
    store.add_events([Event(event_id="e0", user_id="u1", item_id="i1", type="click", timestamp=1)])
    rows = [
        ("e0", "u1", "i1", "click", None, 1.0, "{}"),  # stored already
        ("e1", "u1", "i2", "like", 2.5, 20.0, '{"device": "tv"}'),
        ("e1", "u1", "i2", "like", 2.5, 20.0, '{"device": "tv"}'),  # repeated in the batch
        (None, "u2", "i1", "view", None, 5.0, "{}"),
    ]
    with store.engine.begin() as connection:
        result = store.add_event_rows(rows, connection)
    assert (result.accepted, result.duplicates) == (2, 2)
    assert store.counts()["events"] == 3 and store.get_user("u2") == User(id="u2")
    [stored] = [event for event in store.user_data("u1").events if event.event_id == "e1"]  # type: ignore[union-attr]
    assert (stored.item_id, stored.type, stored.value, stored.timestamp) == ("i2", "like", 2.5, 20.0)
    assert stored.context == {"device": "tv"}
    assert store.logs.user_events("u2", 5)[0].item_id == "i1"


def test_deleting_a_user_deletes_their_behaviour(store: Store) -> None:
    store.upsert_items([Item(id="i1", title="one")])
    store.upsert_users([User(id="u1", age=30, interests="jazz")])
    store.add_events(
        [
            Event(user_id="u1", item_id="i1", type="click"),
            Event(user_id="u2", item_id="i1", type="click"),
        ]
    )
    store.logs.log_impressions(
        [
            Impression(
                request_id="r",
                user_id="u1",
                item_id="i1",
                position=0,
                section="main",
                source="popular",
                model_version=None,
                timestamp=1.0,
            )
        ]
    )
    assert store.delete_user("u1") is True
    counts = store.counts()
    assert (counts["events"], counts["impressions"], counts["users"]) == (1, 0, 1)
    assert store.logs.user_events("u1", 10) == []


def test_item_popularity_counts_only_given_types(store: Store) -> None:
    store.upsert_items([Item(id=i, title=i) for i in ("a", "b", "c")])
    store.add_events(
        [Event(user_id=u, item_id="b", type="click") for u in "xyz"]
        + [Event(user_id="x", item_id="a", type="click"), Event(user_id="y", item_id="c", type="impression")]
    )
    assert store.logs.item_popularity(["click"], 10) == [("b", 3), ("a", 1)]


def test_recent_activity_is_counted_per_item_and_hour_and_exposure_per_item(store: Store) -> None:
    store.upsert_items([Item(id=i, title=i) for i in ("a", "b", "c")])
    hour = 3600.0
    store.add_events(
        [Event(user_id=u, item_id="a", type="click", timestamp=100 * hour + 60) for u in "xyz"]
        + [Event(user_id="x", item_id="b", type="click", timestamp=101 * hour + 5)]
        + [Event(user_id="y", item_id="b", type="click", timestamp=90 * hour)]  # before `since`
        + [Event(user_id="z", item_id="c", type="impression", timestamp=101 * hour)]  # not positive
    )
    assert store.logs.latest_event_time() == 101 * hour + 5
    activity = sorted(store.logs.recent_activity(["click"], since=95 * hour, bucket_seconds=hour))
    assert activity == [("a", 100 * hour, 3), ("b", 101 * hour, 1)]
    shown = [Impression("r", "x", item, 0, "main", "als", None, 100 * hour) for item in ("a", "a", "c")]
    store.logs.log_impressions([*shown, Impression("r", "x", "c", 1, "main", "als", None, 10 * hour)])
    # only x was shown a before clicking it; y and z found it elsewhere, and nobody was shown b
    assert store.logs.item_exposure(["click"], since=95 * hour) == {"a": (2, 1), "c": (1, 0)}


def test_exposure_counts_a_user_acting_on_a_shown_item_once_and_only_within_the_window(store: Store) -> None:
    store.upsert_items([Item(id=i, title=i) for i in ("a", "b", "c")])
    hour = 3600.0
    shown = [Impression(f"r{u}", u, i, 0, "main", "als", None, 100 * hour) for u in "xyz" for i in "abc"]
    store.logs.log_impressions(shown)
    store.add_events(
        [Event(user_id="x", item_id="a", type=kind, timestamp=100 * hour + 30) for kind in ("click", "like")]
        + [Event(user_id="y", item_id="a", type="click", timestamp=110 * hour)]  # 10 hours later: counts
        + [Event(user_id="z", item_id="a", type="click", timestamp=99 * hour)]  # before it was shown
        + [Event(user_id="x", item_id="b", type="click", timestamp=126 * hour)]  # past the 24 h window
        + [Event(user_id="y", item_id="c", type="impression", timestamp=101 * hour)]  # not positive
    )
    exposure = store.logs.item_exposure(["click", "like"], since=90 * hour)
    assert exposure == {"a": (3, 2), "b": (3, 0), "c": (3, 0)}
    assert store.logs.item_exposure(["click"], since=90 * hour, window_seconds=30 * hour)["b"] == (3, 1)


def test_the_per_day_impression_counts_are_backfilled_and_then_kept(database_url: str) -> None:
    """A database with impressions logged before the counts existed gets them on migration;
    later impressions add to them; exposure reads whole UTC days."""
    store = Store.from_url(database_url)
    engine = store.engine
    migrate(engine, "0005")
    day = 86_400.0
    logged = [("a", 10 * day + 5), ("a", 10 * day + 60), ("b", 10 * day + 50_000), ("a", 12 * day + 1)]
    with engine.begin() as connection:
        for number, (item_id, ts) in enumerate(logged):
            connection.execute(
                sa.text(
                    "INSERT INTO impressions (request_id, user_id, item_id, position, section, source, ts) "
                    "VALUES (:r, 'x', :i, 0, 'main', 'als', :ts)"
                ),
                {"r": f"r{number}", "i": item_id, "ts": ts},
            )
    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT item_id, day, shown FROM item_impressions")).all()
    assert sorted(tuple(row) for row in rows) == [("a", 10, 2), ("a", 12, 1), ("b", 10, 1)]
    store.logs.log_impressions([Impression("r9", "y", "a", 0, "main", "als", None, 12 * day + 100)])
    assert store.logs.item_exposure(["click"], since=12 * day + 50) == {"a": (2, 0)}  # the whole day 12
    assert store.logs.item_exposure(["click"], since=9 * day) == {"a": (4, 0), "b": (1, 0)}
    store.close()


@pytest.mark.postgres
def test_a_scratch_database_is_dropped_even_while_connections_are_open() -> None:
    with scratch_database(POSTGRES_ADMIN_URL, "homefeed_probe") as url:
        name = sa.engine.make_url(url).database
        assert name is not None and name.startswith("homefeed_probe_")
        held = sa.create_engine(url)
        connection = held.connect()  # still open when the database is dropped
        assert connection.execute(sa.text("SELECT current_database()")).scalar() == name
    admin = sa.create_engine(POSTGRES_ADMIN_URL)
    with admin.connect() as check:
        found = check.execute(sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name})
        assert found.scalar() == 0
    admin.dispose()
    connection.invalidate()  # the server ended it: nothing to roll back
    held.dispose()


def test_a_logged_page_becomes_one_impression_row_per_item_in_page_order(store: Store) -> None:
    store.upsert_users([User(id="u1")])
    top, more = ("i3", 0, "top-picks", "personal"), ("i1", 1, "more-drama", "explore")
    store.logs.log_pages(
        [
            ShownPage("r1", "u1", "v7", 100.0, "exp", "b", (top, more)),
            ShownPage("r2", "u1", None, 200.0, None, None, (("i1", 0, "main", "popular"),)),
        ]
    )
    data = store.user_data("u1")
    assert data is not None
    assert data.impressions == [
        Impression("r1", "u1", "i3", 0, "top-picks", "personal", "v7", 100.0, "exp", "b"),
        Impression("r1", "u1", "i1", 1, "more-drama", "explore", "v7", 100.0, "exp", "b"),
        Impression("r2", "u1", "i1", 0, "main", "popular", None, 200.0, None, None),
    ]
    assert store.logs.shown_items("u1", ["r2", "r1"]) == ["i1", "i3", "i1"]
    assert store.logs.ignored_items("u1", shown_at_least=2, since=0.0) == {"i1"}
    assert store.logs.item_exposure(["click"], since=0.0) == {"i3": (1, 0), "i1": (2, 0)}


def test_a_page_built_before_its_user_was_deleted_is_not_written_after_the_deletion(store: Store) -> None:
    """Impressions wait a second to be written in a batch; a deletion (through any worker) in
    between would otherwise find the deleted user's pages back in the log: a cursor of theirs
    was followed again once (the multi-worker test)."""
    store.upsert_users([User(id="gone"), User(id="stays")])
    built = time.time() - 1.0
    assert store.delete_user("gone")
    shown = (("i1", 0, "main", "popular"),)
    store.logs.log_pages(
        [
            ShownPage("r1", "gone", None, built, "exp", "a", shown, (("exp", "a"),)),
            ShownPage("r2", "stays", None, built, None, None, shown),
        ]
    )
    assert store.logs.shown_items("gone", ["r1"]) == []
    assert store.logs.shown_items("stays", ["r2"]) == ["i1"]
    # both pages were shown: the per-item daily counts carry no user and keep them
    assert store.logs.item_exposure(["click"], since=0.0) == {"i1": (2, 0)}
    store.upsert_users([User(id="gone")])  # the same id again, later: their new pages are theirs
    store.logs.log_pages([ShownPage("r3", "gone", None, time.time() + 1.0, None, None, shown)])
    assert store.logs.shown_items("gone", ["r3"]) == ["i1"]


def test_the_deletion_check_of_each_impression_batch_reads_the_user_index(tmp_path: Path) -> None:
    """The impression writer asks, about once a second, whether its pages' users were deleted
    since: after importing half a million users that read scanned 500,000 changes each time."""
    from homefeed.store.logs import last_deletions

    store = Store.from_url(f"sqlite:///{tmp_path / 'plan.db'}")
    migrate(store.engine)
    query = last_deletions(["u1", "u2"]).compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as connection:
        plan = " ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}"))
    store.close()
    assert "ix_user_changes_user" in plan and "SCAN user_changes" not in plan, plan


def test_impressions_of_several_pages_are_grouped_back_into_their_pages() -> None:
    shown = [
        Impression("r1", "u1", "a", 0, "main", "als", None, 5.0),
        Impression("r2", "u2", "b", 0, "main", "als", None, 6.0),
        Impression("r1", "u1", "c", 1, "main", "explore", None, 5.0),
    ]
    assert ShownPage.group(shown) == [
        ShownPage("r1", "u1", None, 5.0, None, None, (("a", 0, "main", "als"), ("c", 1, "main", "explore"))),
        ShownPage("r2", "u2", None, 6.0, None, None, (("b", 0, "main", "als"),)),
    ]


def test_the_live_popularity_and_exposure_reads_use_the_covering_item_index(tmp_path: Path) -> None:
    """Each serving worker re-reads them in the background: with an index on the item alone,
    each of 10 million events was looked up in the table (35 s and 32 s each time)."""
    from homefeed.store.logs import most_events, users_acting_on_shown

    store = Store.from_url(f"sqlite:///{tmp_path / 'plan.db'}")
    migrate(store.engine)
    plans = []
    for query in (most_events(["click", "like"], 100), users_acting_on_shown(["click"], 0.0, 86_400.0)):
        compiled = query.compile(store.engine, compile_kwargs={"literal_binds": True})
        with store.engine.connect() as connection:
            plans.append(
                " ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            )
    store.close()
    for plan in plans:
        assert "SCAN events USING COVERING INDEX ix_events_item" in plan, plan


def test_trending_users_are_decayed_by_the_hour_in_the_database_as_in_python(store: Store) -> None:
    """Half-life one hour, read at the middle of hour 10: that hour's users weigh 1, hour 9's
    weigh a half; a user's burst within an hour counts once."""
    from homefeed.store.logs import decayed_here

    hour = 3600.0
    store.add_events(
        [
            Event(user_id="u1", item_id="a", type="like", timestamp=10 * hour + 10),
            Event(user_id="u2", item_id="a", type="like", timestamp=10 * hour + 20),
            Event(user_id="u3", item_id="a", type="like", timestamp=9 * hour + 5),
            Event(user_id="u1", item_id="b", type="like", timestamp=10 * hour + 30),
            Event(user_id="u1", item_id="b", type="like", timestamp=10 * hour + 40),
            Event(user_id="u4", item_id="b", type="view", timestamp=10 * hour + 50),  # not counted
        ]
    )
    args = (["like"], 0.0, 10 * hour + 1800, hour, hour)
    scores, users = store.logs.trending_users(*args)
    assert scores == pytest.approx({"a": 2.5, "b": 1.0}) and users == {"a": 3, "b": 1}
    buckets, here_users = store.logs.recent_users(["like"], 0.0, 10 * hour + 1800, hour)
    assert decayed_here(buckets, 10 * hour + 1800, hour, hour) == pytest.approx(scores, rel=1e-12)
    assert here_users == users
