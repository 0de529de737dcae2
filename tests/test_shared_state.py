"""State shared by workers through a real Redis: live aggregates (one worker reads the store,
the others read its copy) and the pages a scroll has shown (any worker follows any cursor);
without a reachable Redis each worker keeps its own, and nothing fails."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from homefeed.cli import app as cli
from homefeed.config import Settings
from homefeed.domain import Event, Item
from homefeed.errors import InvalidInputError
from homefeed.homepage.cursor import Cursor, ShownItems, encode_cursor
from homefeed.live.aggregates import LiveStats
from homefeed.live.clock import FixedClock
from homefeed.live.scrolls import SharedPages
from homefeed.live.shared import SharedAggregates, pairs
from homefeed.store import Store

REDIS_TEST_DB = "redis://127.0.0.1:6379/14"  # the suite's own database, emptied per test
NOW = 1_800_000_000.0


@pytest.fixture
def redis_url() -> str:
    redis.Redis.from_url(REDIS_TEST_DB).flushdb()
    return REDIS_TEST_DB


def _log(store: Store) -> None:
    store.upsert_items([Item(id=item, title=item) for item in ("a", "b", "c")])
    store.add_events(
        [
            *(Event(user_id=f"u{n}", item_id="a", type="like", timestamp=NOW - 3600) for n in range(4)),
            *(Event(user_id=f"u{n}", item_id="b", type="like", timestamp=NOW - 7200) for n in range(2)),
            Event(user_id="u9", item_id="c", type="click", timestamp=NOW - 60),
        ]
    )


def _counting(store: Store) -> dict[str, int]:
    """Counts of the store's aggregate queries, by name."""
    calls = {"popularity": 0, "recent": 0}
    popularity, recent = store.logs.item_popularity, store.logs.trending_users

    def counted_popularity(*args: object, **kwargs: object) -> object:
        calls["popularity"] += 1
        return popularity(*args, **kwargs)  # type: ignore[arg-type]

    def counted_recent(*args: object, **kwargs: object) -> object:
        calls["recent"] += 1
        return recent(*args, **kwargs)  # type: ignore[arg-type]

    store.logs.item_popularity = counted_popularity  # type: ignore[method-assign]
    store.logs.trending_users = counted_recent  # type: ignore[method-assign]
    return calls


def test_workers_read_one_copy_of_each_aggregate(store: Store, tmp_path: Path, redis_url: str) -> None:
    _log(store)
    calls = _counting(store)
    settings = Settings(data_dir=tmp_path, redis_url=redis_url)
    shared = SharedAggregates(redis_url, settings.effective_database_url, ttl=30.0)
    workers = [LiveStats(store, settings, FixedClock(NOW), shared) for _ in range(3)]
    answers = [(worker.popular(), worker.trending()) for worker in workers]
    assert answers[0][0][:2] == [("a", 4), ("b", 2)]
    assert answers[0][1][0][0] == "a"  # trending (b has too few users to trend)
    assert all(answer == answers[0] for answer in answers)  # the same copy, tuples and all
    assert calls == {"popularity": 1, "recent": 1}  # one store query each, not one per worker
    other_store = SharedAggregates(redis_url, "postgresql://elsewhere/other", ttl=30.0)
    LiveStats(store, settings, FixedClock(NOW), other_store).popular()
    assert calls["popularity"] == 2  # another store's workers keep their own copy


def test_a_copy_older_than_its_time_is_read_again_by_one_worker(
    store: Store, tmp_path: Path, redis_url: str
) -> None:
    _log(store)
    calls = _counting(store)
    shared = SharedAggregates(redis_url, "scope", ttl=1.5)  # room for a slow machine's pause
    load = shared.through("popular", lambda: store.logs.item_popularity({"like"}, 10), pairs)
    assert load() == load() and calls["popularity"] == 1
    time.sleep(1.6)
    store.add_events([Event(user_id=f"w{n}", item_id="c", type="like", timestamp=NOW) for n in range(9)])
    assert load()[0] == ("c", 9) and calls["popularity"] == 2


def test_another_worker_reading_it_serves_the_last_copy_meanwhile(redis_url: str) -> None:
    shared = SharedAggregates(redis_url, "scope", ttl=0.2)
    assert shared.through("x", lambda: [1], list)() == [1]
    time.sleep(0.3)
    client = redis.Redis.from_url(redis_url)
    client.set(shared.prefix + "x:lock", "1", ex=5)  # another worker holds the re-read

    def must_not_run() -> list[int]:
        raise AssertionError("read the store while another worker was reading it")

    assert shared.through("x", must_not_run, list)() == [1]


def test_without_a_reachable_redis_each_worker_reads_its_own(store: Store, tmp_path: Path) -> None:
    _log(store)
    calls = _counting(store)
    settings = Settings(data_dir=tmp_path)
    shared = SharedAggregates("redis://127.0.0.1:1/0", "scope", ttl=30.0)  # nothing listens there
    workers = [LiveStats(store, settings, FixedClock(NOW), shared) for _ in range(2)]
    assert [worker.popular()[0] for worker in workers] == [("a", 4), ("a", 4)]
    assert calls["popularity"] == 2


def test_scroll_pages_are_followed_on_any_worker_and_forgotten_everywhere(redis_url: str) -> None:
    workers = [ShownItems(shared=SharedPages(redis_url, "scope")) for _ in range(2)]
    workers[0].add("r1", ["a", "b"], "u1")
    first = encode_cursor(Cursor("u1", ("r1",)))
    cursor, shown = workers[1].of(first, "u1")  # at once, on the other worker
    assert shown == ["a", "b"]
    workers[1].add(cursor.session, ["c"], "u1", request_id="r2")
    assert workers[0].of(encode_cursor(cursor.after("r2")), "u1")[1] == ["a", "b", "c"]
    workers[0].forget_user("u1")
    with pytest.raises(InvalidInputError):
        ShownItems(shared=SharedPages(redis_url, "scope")).of(first, "u1")  # gone from Redis
    assert not ShownItems(shared=SharedPages(redis_url, "scope")).holds("u1")


def test_without_a_reachable_redis_a_worker_follows_its_own_cursors() -> None:
    alone = ShownItems(shared=SharedPages("redis://127.0.0.1:1/0", "scope"))
    alone.add("r1", ["a"], "u1")
    assert alone.of(encode_cursor(Cursor("u1", ("r1",))), "u1")[1] == ["a"]


def test_deleting_a_user_from_the_command_line_forgets_their_scroll_pages(
    store: Store, tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _log(store)
    url = str(store.engine.url.render_as_string(hide_password=False))
    SharedPages(redis_url, url).remember("u1", "r1", ["a"])
    SharedPages(redis_url, url).remember("u2", "r2", ["b"])
    monkeypatch.setenv("HOMEFEED_REDIS_URL", redis_url)
    deleted = CliRunner().invoke(
        cli, ["--database-url", url, "--data-dir", str(tmp_path), "users", "delete", "u1", "--yes"]
    )
    assert deleted.exit_code == 0, deleted.output
    assert SharedPages(redis_url, url).shown("u1", ["r1"]) is None
    assert SharedPages(redis_url, url).shown("u2", ["r2"]) == ["b"]  # nobody else's
