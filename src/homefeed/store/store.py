"""The store: items, users, events and impressions behind one small class.

SQLAlchemy Core keeps one code path for SQLite and PostgreSQL; the dialect only decides
how an upsert is spelled and how a logged page's JSON array becomes impression rows.
Every write runs in one transaction and is committed before the call returns, so an
acknowledged write is durable (SQLite runs WAL with full sync).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from homefeed.domain import Event, Impression, Item, Promotion, ShownPage, StoredEventRecord, User, UserData
from homefeed.models.context import CONTEXT_KEYS
from homefeed.store.schema import (
    DAY,
    events,
    follows_impression,
    impressions,
    item_deletions,
    item_impressions,
    items,
    promotions,
    text_embeddings,
    users,
)

_ITEM_FIELDS = (
    "title",
    "text",
    "category",
    "tags",
    "attributes",
    "creator",
    "published_at",
    "active",
)
_USER_FIELDS = ("age", "gender", "occupation", "location", "interests", "attributes")


def _user(row: Any) -> User:
    """A user from a mapping row of the users table."""
    return User(**{key: row[key] for key in ("id", *_USER_FIELDS)})


def _columns(table: sa.Table, names: Iterable[str]) -> list[sa.ColumnElement[Any]]:
    """The table's columns for a record's field names; the record's ``timestamp`` is ``ts``."""
    return [table.c.ts.label(name) if name == "timestamp" else table.c[name] for name in names]


def create_store_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite files get WAL, full fsync and a generous busy timeout."""
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, pool_pre_ping=False
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA cache_size=-16384")
            cursor.execute("PRAGMA mmap_size=268435456")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


# built once: constructing a statement on every request cost more than running it (0.2 ms)
_USER_EVENTS = (
    sa.select(events.c.item_id, events.c.type, events.c.value, events.c.ts)
    .where(events.c.user_id == sa.bindparam("user_id"))
    .order_by(events.c.ts.desc(), events.c.seq.desc())
    .limit(sa.bindparam("limit"))
)

_IGNORED_ITEMS = (
    sa.select(impressions.c.item_id)
    .where(impressions.c.user_id == sa.bindparam("user_id"), impressions.c.ts >= sa.bindparam("since"))
    .group_by(impressions.c.item_id)
    .having(sa.func.count() >= sa.bindparam("shown_at_least"))
)
_USER = sa.select(users).where(users.c.id == sa.bindparam("user_id"))
_SHOWN_ITEMS = sa.select(impressions.c.request_id, impressions.c.position, impressions.c.item_id).where(
    impressions.c.user_id == sa.bindparam("user_id"),
    impressions.c.request_id.in_(sa.bindparam("request_ids", expanding=True)),
)


class StoredEvent(NamedTuple):
    """An event as read back for a user's history (a named tuple: a page builds hundreds, and
    a frozen dataclass's ``__init__`` took a fifth of the history read)."""

    item_id: str
    type: str
    value: float | None
    timestamp: float


@dataclass(frozen=True)
class EventWriteResult:
    accepted: int
    duplicates: int


class Store:
    """All reads and writes the engine makes; one instance per process."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(create_store_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    # -- dialect helpers --------------------------------------------------
    def _insert(self, connection: sa.Connection, table: sa.Table) -> Any:
        if connection.dialect.name == "postgresql":
            return postgresql.insert(table)
        if connection.dialect.name == "sqlite":
            return sqlite.insert(table)
        raise NotImplementedError(f"unsupported database dialect {connection.dialect.name!r}")

    def _upsert(
        self,
        connection: sa.Connection,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        update_columns: Sequence[str],
    ) -> None:
        if not rows:
            return
        statement = self._insert(connection, table)
        statement = statement.on_conflict_do_update(
            index_elements=["id"],
            set_={name: statement.excluded[name] for name in update_columns},
        )
        connection.execute(statement, list(rows))

    # -- items ------------------------------------------------------------
    @staticmethod
    def item_row(item: Item, now: float) -> dict[str, Any]:
        row = item.model_dump()
        row["updated_at"] = now
        return row

    def upsert_items(self, batch: Sequence[Item], connection: sa.Connection | None = None) -> None:
        """Create or replace items (one transaction unless a connection is passed in); an item
        deleted before is no longer listed as deleted."""
        now = time.time()
        rows = [self.item_row(item, now) for item in batch]
        if connection is None:
            with self.engine.begin() as conn:
                self.upsert_items(batch, conn)
            return
        self._upsert(connection, items, rows, (*_ITEM_FIELDS, "updated_at"))
        ids = [row["id"] for row in rows]
        for start in range(0, len(ids), 500):
            connection.execute(
                sa.delete(item_deletions).where(item_deletions.c.id.in_(ids[start : start + 500]))
            )

    def get_item(self, item_id: str) -> Item | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(items).where(items.c.id == item_id)).mappings().first()
        return None if row is None else _item_from_row(row)

    def get_items(self, item_ids: Sequence[str]) -> list[Item]:
        """The stored ones of ``item_ids`` (in id order), read 500 at a time."""
        wanted = sorted(set(item_ids))
        found: list[Item] = []
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                query = (
                    sa.select(items).where(items.c.id.in_(wanted[start : start + 500])).order_by(items.c.id)
                )
                found += [_item_from_row(row) for row in connection.execute(query).mappings()]
        return found

    def delete_item(self, item_id: str) -> bool:
        """Remove an item from the catalog (and list it as deleted, for other workers); its past
        events stay in the behaviour log."""
        with self.engine.begin() as connection:
            result = connection.execute(sa.delete(items).where(items.c.id == item_id))
            if result.rowcount:
                row = {"id": item_id, "deleted_at": time.time()}
                self._upsert(connection, item_deletions, [row], ("deleted_at",))
        return bool(result.rowcount)

    def items_changed_since(self, since: float) -> list[tuple[Item, float]]:
        """Items written after ``since``, each with its write time, oldest write first."""
        query = sa.select(items).where(items.c.updated_at > since).order_by(items.c.updated_at, items.c.id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings()
            return [(_item_from_row(row), float(row["updated_at"])) for row in rows]

    def item_versions(self) -> dict[str, float]:
        """Every catalog item id with the time it was last written."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(items.c.id, items.c.updated_at))
            return {row.id: float(row.updated_at) for row in rows}

    def items_deleted_since(self, since: float) -> list[tuple[str, float]]:
        """(id, deleted_at) of the items deleted after ``since`` and not written again."""
        query = sa.select(item_deletions.c.id, item_deletions.c.deleted_at).where(
            item_deletions.c.deleted_at > since
        )
        with self.engine.connect() as connection:
            return [(row.id, float(row.deleted_at)) for row in connection.execute(query)]

    def iter_items(self) -> Iterator[Item]:
        with self.engine.connect() as connection:
            for row in connection.execute(sa.select(items).order_by(items.c.id)).mappings():
                yield _item_from_row(row)

    def item_ids(self) -> list[str]:
        """Every catalog item id."""
        with self.engine.connect() as connection:
            return list(connection.execute(sa.select(items.c.id)).scalars())

    def existing_item_ids(self, ids: Iterable[str], connection: sa.Connection | None = None) -> set[str]:
        wanted = list(set(ids))
        found: set[str] = set()
        if connection is None:
            with self.engine.connect() as conn:
                return self.existing_item_ids(wanted, conn)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found.update(connection.execute(sa.select(items.c.id).where(items.c.id.in_(chunk))).scalars())
        return found

    # -- users ------------------------------------------------------------
    def upsert_users(self, batch: Sequence[User], connection: sa.Connection | None = None) -> None:
        now = time.time()
        rows = [{**user.model_dump(), "updated_at": now} for user in batch]
        if connection is not None:
            self._upsert(connection, users, rows, (*_USER_FIELDS, "updated_at"))
            return
        with self.engine.begin() as conn:
            self._upsert(conn, users, rows, (*_USER_FIELDS, "updated_at"))

    def ensure_users(self, user_ids: Iterable[str], connection: sa.Connection) -> None:
        """Create bare users for ids not stored yet; existing profiles are left alone."""
        now = time.time()
        rows = [{"id": uid, "attributes": {}, "updated_at": now} for uid in sorted(set(user_ids))]
        if rows:
            statement = self._insert(connection, users).on_conflict_do_nothing(index_elements=["id"])
            connection.execute(statement, rows)

    def get_user(self, user_id: str) -> User | None:
        with self.engine.connect() as connection:
            row = connection.execute(_USER, {"user_id": user_id}).mappings().first()
        if row is None:
            return None
        return _user(row)

    def iter_users(self) -> Iterator[User]:
        with self.engine.connect() as connection:
            for row in connection.execute(sa.select(users).order_by(users.c.id)).mappings():
                yield _user(row)

    def delete_user(self, user_id: str) -> bool:
        """Delete a user with all their events and impressions (the right to be forgotten); the
        per-item daily impression counts carry no user id and stay."""
        with self.engine.begin() as connection:
            connection.execute(sa.delete(events).where(events.c.user_id == user_id))
            connection.execute(sa.delete(impressions).where(impressions.c.user_id == user_id))
            result = connection.execute(sa.delete(users).where(users.c.id == user_id))
        return bool(result.rowcount)

    def user_data(self, user_id: str) -> UserData | None:
        """Everything stored about the user, read in one transaction (None: no such user)."""
        event_columns = _columns(events, StoredEventRecord.model_fields)
        shown_columns = _columns(impressions, (field.name for field in fields(Impression)))
        with self.engine.connect() as connection:
            row = connection.execute(_USER, {"user_id": user_id}).mappings().first()
            if row is None:
                return None
            event_rows = connection.execute(
                sa.select(*event_columns)
                .where(events.c.user_id == user_id)
                .order_by(events.c.ts, events.c.seq)
            ).mappings()
            recorded = [StoredEventRecord.model_validate(dict(event)) for event in event_rows]
            shown_rows = connection.execute(
                sa.select(*shown_columns)
                .where(impressions.c.user_id == user_id)
                .order_by(impressions.c.ts, impressions.c.seq)
            ).mappings()
            shown = [Impression(**impression) for impression in shown_rows]
        return UserData(user=_user(row), events=recorded, impressions=shown, exported_at=time.time())

    def sample_user_ids(self, limit: int) -> list[str]:
        """The most active users first, for pickers and demos."""
        query = (
            sa.select(events.c.user_id, sa.func.count().label("n"))
            .group_by(events.c.user_id)
            .order_by(sa.desc("n"), events.c.user_id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [row.user_id for row in connection.execute(query)]

    # -- events -----------------------------------------------------------
    def add_events(self, batch: Sequence[Event], connection: sa.Connection | None = None) -> EventWriteResult:
        """Store events once: ids already stored, or repeated in the batch, are skipped."""
        if connection is None:
            with self.engine.begin() as conn:
                return self.add_events(batch, conn)
        ids = [event.event_id for event in batch if event.event_id is not None]
        already: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            already.update(
                connection.execute(sa.select(events.c.event_id).where(events.c.event_id.in_(chunk))).scalars()
            )
        now = time.time()
        rows: list[dict[str, Any]] = []
        for event in batch:
            if event.event_id is not None:
                if event.event_id in already:
                    continue
                already.add(event.event_id)
            rows.append(
                {
                    "event_id": event.event_id,
                    "user_id": event.user_id,
                    "item_id": event.item_id,
                    "type": event.type,
                    "value": event.value,
                    "ts": event.timestamp,
                    "context": event.context,
                    "received_at": now,
                }
            )
        if rows:
            self.ensure_users({row["user_id"] for row in rows}, connection)
            statement = self._insert(connection, events).on_conflict_do_nothing(index_elements=["event_id"])
            connection.execute(statement, rows)
        return EventWriteResult(accepted=len(rows), duplicates=len(batch) - len(rows))

    def user_events(self, user_id: str, limit: int) -> list[StoredEvent]:
        """A user's most recent ``limit`` events, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(_USER_EVENTS, {"user_id": user_id, "limit": limit}).all()
        make = StoredEvent._make
        return [make(row) for row in reversed(rows)]

    def iter_event_rows(
        self, chunk_size: int = 50_000
    ) -> Iterator[tuple[str, str, str, float, str | None, str | None]]:
        """Every stored event as (user_id, item_id, type, timestamp, device, surface), in
        arrival order; device and surface are read from the event's context (None if absent)."""
        device, surface = (events.c.context[key].as_string() for key in CONTEXT_KEYS)
        query = sa.select(
            events.c.user_id, events.c.item_id, events.c.type, events.c.ts, device, surface
        ).order_by(events.c.seq)
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=chunk_size).execute(query)
            for row in result:
                yield row.user_id, row.item_id, row.type, row.ts, row[4], row[5]

    def item_popularity(self, event_types: Sequence[str], limit: int) -> list[tuple[str, int]]:
        """Items with the most events of the given types, most first, ties by id."""
        query = (
            sa.select(events.c.item_id, sa.func.count().label("n"))
            .where(events.c.type.in_(list(event_types)))
            .group_by(events.c.item_id)
            .order_by(sa.desc("n"), events.c.item_id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [(row.item_id, int(row.n)) for row in connection.execute(query)]

    def latest_event_time(self) -> float | None:
        """The newest event's timestamp (None for an empty log)."""
        with self.engine.connect() as connection:
            latest = connection.execute(sa.select(sa.func.max(events.c.ts))).scalar_one()
        return float(latest) if latest is not None else None

    def recent_activity(
        self, event_types: Sequence[str], since: float, bucket_seconds: float
    ) -> list[tuple[str, float, int]]:
        """(item, bucket time, events) for events of the given types since ``since``, counted
        per item and time bucket, so callers can decay counts by age without reading each event."""
        bucket = sa.cast(events.c.ts / bucket_seconds, sa.BigInteger).label("bucket")
        query = (
            sa.select(events.c.item_id, bucket, sa.func.count().label("n"))
            .where(events.c.ts >= since, events.c.type.in_(list(event_types)))
            .group_by(events.c.item_id, bucket)
        )
        with self.engine.connect() as connection:
            return [
                (row.item_id, float(row.bucket) * bucket_seconds, int(row.n))
                for row in connection.execute(query)
            ]

    def item_exposure(
        self, event_types: Sequence[str], since: float, window_seconds: float = 86_400.0
    ) -> dict[str, tuple[int, int]]:
        """Per item since ``since``: (homepage impressions, users who had an event of the given
        types on it within ``window_seconds`` after it was shown to them), the counts a bandit
        needs to judge how an item does when shown. Events without such an impression (the
        item found by search, or by another page) are the item's, not the homepage's: they
        are not counted. Impressions are read from the per-day counts, from the start of the
        UTC day of ``since``, so the read does not grow with the log."""
        shown = (
            sa.select(item_impressions.c.item_id, sa.func.sum(item_impressions.c.shown).label("n"))
            .where(item_impressions.c.day >= int(since // DAY))
            .group_by(item_impressions.c.item_id)
        )
        after_shown = (
            sa.select(impressions.c.seq)
            .where(follows_impression(event_types, window_seconds), impressions.c.ts >= since)
            .exists()
        )
        acted = (
            sa.select(events.c.item_id, sa.func.count(sa.distinct(events.c.user_id)).label("n"))
            .where(events.c.ts >= since, after_shown)
            .group_by(events.c.item_id)
        )
        with self.engine.connect() as connection:
            counts = {row.item_id: (int(row.n), 0) for row in connection.execute(shown)}
            for row in connection.execute(acted):
                counts[row.item_id] = (counts.get(row.item_id, (0, 0))[0], int(row.n))
        return counts

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return {
                table.name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in (items, users, events, impressions)
            }

    def ignored_items(self, user_id: str, shown_at_least: int, since: float) -> set[str]:
        """Items shown to the user at least ``shown_at_least`` times since ``since`` in homepage
        responses (whether they were then clicked is for the caller to check)."""
        values = {"user_id": user_id, "since": since, "shown_at_least": shown_at_least}
        with self.engine.connect() as connection:
            return set(connection.execute(_IGNORED_ITEMS, values).scalars().all())

    def shown_items(self, user_id: str, request_ids: list[str]) -> list[str]:
        """The items the user's pages ``request_ids`` showed, as logged (empty if none is, yet)."""
        values = {"user_id": user_id, "request_ids": request_ids}
        with self.engine.connect() as connection:
            rows = connection.execute(_SHOWN_ITEMS, values).all()
        order = {request_id: rank for rank, request_id in enumerate(request_ids)}
        return [item_id for _, _, item_id in sorted(rows, key=lambda row: (order[row[0]], row[1]))]

    # -- promotions ---------------------------------------------------------
    def upsert_promotion(self, promotion: Promotion) -> None:
        row = {**promotion.model_dump(), "updated_at": time.time()}
        with self.engine.begin() as connection:
            self._upsert(connection, promotions, [row], [name for name in row if name != "id"])

    def delete_promotion(self, promotion_id: str) -> bool:
        with self.engine.begin() as connection:
            deleted = connection.execute(sa.delete(promotions).where(promotions.c.id == promotion_id))
        return bool(deleted.rowcount)

    def list_promotions(self) -> list[Promotion]:
        names = ("id", "item_id", "position", "label", "starts_at", "ends_at")
        columns = [promotions.c[name] for name in names]
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(*columns).order_by(promotions.c.position, promotions.c.id))
            return [Promotion.model_validate(dict(row._mapping)) for row in rows]

    # -- text embeddings ----------------------------------------------------
    def cached_embeddings(self, model_id: str, hashes: Sequence[str]) -> dict[str, bytes]:
        """Stored vectors (raw float32 bytes) of ``model_id`` for the given text hashes."""
        found: dict[str, bytes] = {}
        wanted = list(set(hashes))
        table = text_embeddings
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), 500):
                query = sa.select(table.c.text_sha256, table.c.vector).where(
                    table.c.model_id == model_id, table.c.text_sha256.in_(wanted[start : start + 500])
                )
                found.update({row.text_sha256: bytes(row.vector) for row in connection.execute(query)})
        return found

    def cache_embeddings(self, model_id: str, vectors: dict[str, bytes], dimension: int) -> None:
        if not vectors:
            return
        now = time.time()
        rows = [
            {
                "model_id": model_id,
                "text_sha256": key,
                "dimension": dimension,
                "vector": value,
                "created_at": now,
            }
            for key, value in vectors.items()
        ]
        with self.engine.begin() as connection:
            statement = self._insert(connection, text_embeddings).on_conflict_do_nothing(
                index_elements=["model_id", "text_sha256"]
            )
            connection.execute(statement, rows)

    # -- impressions ------------------------------------------------------
    def log_impressions(self, batch: Sequence[Impression]) -> None:
        """Append impressions (grouped into their pages; see :meth:`log_pages`)."""
        self.log_pages(ShownPage.group(batch))

    def log_pages(self, pages: Sequence[ShownPage]) -> None:
        """Append one impression row per item of each page, and add them to the per-item,
        per-day counts, in one transaction. Each page is one statement whose rows the database
        expands from a JSON array: the writer thread then binds a few values per page instead
        of ten per item, and holds the GIL that much less while pages are built beside it."""
        if not pages:
            return
        params = [
            {
                "request_id": page.request_id,
                "user_id": page.user_id,
                "model_version": page.model_version,
                "ts": page.timestamp,
                "experiment": page.experiment,
                "arm": page.arm,
                "items": json.dumps(page.items),
            }
            for page in pages
        ]
        counted = Counter(
            (item_id, int(page.timestamp // DAY)) for page in pages for item_id, *_ in page.items
        )
        with self.engine.begin() as connection:
            connection.execute(_expand_page(connection), params)
            upsert = self._insert(connection, item_impressions)
            upsert = upsert.on_conflict_do_update(
                index_elements=["item_id", "day"],
                set_={"shown": item_impressions.c.shown + upsert.excluded.shown},
            )
            # sorted: concurrent writers take the rows' locks in one order (no deadlock)
            counts = [{"item_id": i, "day": d, "shown": n} for (i, d), n in sorted(counted.items())]
            connection.execute(upsert, counts)


_IMPRESSION_COLUMNS = (
    "request_id, user_id, item_id, position, section, source, model_version, ts, experiment, arm"
)
# one page's impression rows from its items, a JSON array of [item id, position, section, source]
_EXPAND_PAGE = {
    "sqlite": sa.text(
        f"INSERT INTO impressions ({_IMPRESSION_COLUMNS}) SELECT :request_id, :user_id, "
        "json_extract(shown.value, '$[0]'), json_extract(shown.value, '$[1]'), "
        "json_extract(shown.value, '$[2]'), json_extract(shown.value, '$[3]'), "
        ":model_version, :ts, :experiment, :arm FROM json_each(:items) AS shown ORDER BY shown.key"
    ),
    "postgresql": sa.text(
        f"INSERT INTO impressions ({_IMPRESSION_COLUMNS}) SELECT :request_id, :user_id, "
        "shown.value ->> 0, CAST(shown.value ->> 1 AS INTEGER), shown.value ->> 2, shown.value ->> 3, "
        ":model_version, :ts, :experiment, :arm "
        "FROM jsonb_array_elements(CAST(:items AS JSONB)) WITH ORDINALITY AS shown(value, n) "
        "ORDER BY shown.n"
    ),
}


def _expand_page(connection: sa.Connection) -> sa.TextClause:
    expand = _EXPAND_PAGE.get(connection.dialect.name)
    if expand is None:
        raise NotImplementedError(f"unsupported database dialect {connection.dialect.name!r}")
    return expand


def _item_from_row(row: sa.RowMapping) -> Item:
    return Item(**{key: row[key] for key in ("id", *_ITEM_FIELDS)})
