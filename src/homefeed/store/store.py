"""The store: the catalog, users and their data, events as they arrive, promotions and the
embedding cache; reads of the event and impression logs are :class:`Logs` (``store.logs``).

SQLAlchemy Core keeps one code path for SQLite and PostgreSQL; the dialect only decides
how an upsert is spelled (``dialect``) and how a logged page's JSON array becomes impression
rows (``logs``). Every write runs in one transaction and is committed before the call
returns, so an acknowledged write is durable (SQLite runs WAL with full sync).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from homefeed.domain import Event, Impression, Item, Promotion, StoredEventRecord, User, UserData
from homefeed.store.bulk import EventRow, ensure_user_ids, write_event_rows
from homefeed.store.dialect import insert, upsert
from homefeed.store.logs import Logs
from homefeed.store.schema import (
    events,
    experiment_exposures,
    impressions,
    item_deletions,
    items,
    promotions,
    text_embeddings,
    user_changes,
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
    "image",
    "active",
)
_USER_FIELDS = ("age", "gender", "occupation", "location", "interests", "attributes")


_USER = sa.select(users).where(users.c.id == sa.bindparam("user_id"))


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


@dataclass(frozen=True)
class EventWriteResult:
    accepted: int
    duplicates: int


class Store:
    """All reads and writes the engine makes; one instance per process."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.logs = Logs(engine)

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
        upsert(connection, items, rows, (*_ITEM_FIELDS, "updated_at"))
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
                upsert(connection, item_deletions, [row], ("deleted_at",))
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
        """Write profiles (and note the change, so every worker drops its caches of them)."""
        now = time.time()
        rows = [{**user.model_dump(), "updated_at": now} for user in batch]
        changes = [{"user_id": user.id, "deleted": False, "at": now} for user in batch]
        if connection is not None:
            upsert(connection, users, rows, (*_USER_FIELDS, "updated_at"))
            connection.execute(sa.insert(user_changes), changes)
            return
        with self.engine.begin() as conn:
            upsert(conn, users, rows, (*_USER_FIELDS, "updated_at"))
            conn.execute(sa.insert(user_changes), changes)

    def ensure_users(self, user_ids: Iterable[str], connection: sa.Connection) -> None:
        """Create bare users for ids not stored yet; existing profiles are left alone."""
        ensure_user_ids(connection, sorted(set(user_ids)), time.time())

    def get_user(self, user_id: str) -> User | None:
        with self.engine.connect() as connection:
            row = connection.execute(_USER, {"user_id": user_id}).mappings().first()
        if row is None:
            return None
        return _user(row)

    def profiles_of(self, user_ids: Sequence[str]) -> dict[str, User]:
        """The stored profiles of ``user_ids`` (users without one are left out)."""
        found: dict[str, User] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(user_ids), 500):
                chunk = list(user_ids[start : start + 500])
                query = sa.select(users).where(users.c.id.in_(chunk))
                for row in connection.execute(query).mappings():
                    found[row["id"]] = _user(row)
        return found

    def iter_users(self) -> Iterator[User]:
        with self.engine.connect() as connection:
            for row in connection.execute(sa.select(users).order_by(users.c.id)).mappings():
                yield _user(row)

    def delete_user(self, user_id: str) -> bool:
        """Delete a user with all their events, impressions and experiment exposures (the right
        to be forgotten), and note it so every worker drops what it caches of them; the
        per-item daily impression counts carry no user id and stay."""
        with self.engine.begin() as connection:
            connection.execute(sa.delete(events).where(events.c.user_id == user_id))
            connection.execute(sa.delete(impressions).where(impressions.c.user_id == user_id))
            exposed = experiment_exposures.c.user_id == user_id
            connection.execute(sa.delete(experiment_exposures).where(exposed))
            result = connection.execute(sa.delete(users).where(users.c.id == user_id))
            connection.execute(sa.insert(user_changes).values(user_id=user_id, deleted=True, at=time.time()))
        return bool(result.rowcount)

    def user_changes_since(self, seq: int) -> list[tuple[int, str, bool]]:
        """(seq, user id, deleted) of every user written or deleted after change ``seq``, in order."""
        changes = user_changes.c
        query = sa.select(changes.seq, changes.user_id, changes.deleted).where(changes.seq > seq)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(changes.seq))
            return [(int(at), str(user), bool(deleted)) for at, user, deleted in rows]

    def last_user_change(self) -> int:
        with self.engine.connect() as connection:
            found = connection.execute(sa.select(sa.func.max(user_changes.c.seq))).scalar()
        return int(found) if found is not None else 0

    def prune_user_changes(self, before: float) -> None:
        """Forget change notes older than ``before`` (every worker has read them long since)."""
        with self.engine.begin() as connection:
            connection.execute(sa.delete(user_changes).where(user_changes.c.at < before))

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

    # -- events -----------------------------------------------------------
    def add_events(self, batch: Sequence[Event], connection: sa.Connection | None = None) -> EventWriteResult:
        """Store events once: ids already stored, or repeated in the batch, are skipped."""
        if connection is None:
            with self.engine.begin() as conn:
                return self.add_events(batch, conn)
        already = self._stored_event_ids([event.event_id for event in batch], connection)
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
            statement = insert(connection, events).on_conflict_do_nothing(index_elements=["event_id"])
            connection.execute(statement, rows)
        return EventWriteResult(accepted=len(rows), duplicates=len(batch) - len(rows))

    def add_event_rows(self, rows: Sequence[EventRow], connection: sa.Connection) -> EventWriteResult:
        """The bulk path of an import (``store.bulk``): validated rows as staged, stored once by
        the rule of :meth:`add_events` (ids repeated in the rows or already stored are skipped)."""
        repeated: set[str] = set()
        kept: list[EventRow] = []
        for row in rows:
            if row[0] is not None:
                if row[0] in repeated:
                    continue
                repeated.add(row[0])
            kept.append(row)
        now = time.time()
        ensure_user_ids(connection, sorted({row[1] for row in kept}), now)
        accepted = write_event_rows(connection, kept, now)
        return EventWriteResult(accepted=accepted, duplicates=len(rows) - accepted)

    def _stored_event_ids(self, wanted: Sequence[str | None], connection: sa.Connection) -> set[str]:
        ids = [event_id for event_id in wanted if event_id is not None]
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found.update(
                connection.execute(sa.select(events.c.event_id).where(events.c.event_id.in_(chunk))).scalars()
            )
        return found

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return {
                table.name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in (items, users, events, impressions)
            }

    # -- promotions ---------------------------------------------------------
    def upsert_promotion(self, promotion: Promotion) -> None:
        row = {**promotion.model_dump(), "updated_at": time.time()}
        with self.engine.begin() as connection:
            upsert(connection, promotions, [row], [name for name in row if name != "id"])

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
            statement = insert(connection, text_embeddings).on_conflict_do_nothing(
                index_elements=["model_id", "text_sha256"]
            )
            connection.execute(statement, rows)


def _item_from_row(row: sa.RowMapping) -> Item:
    return Item(**{key: row[key] for key in ("id", *_ITEM_FIELDS)})
