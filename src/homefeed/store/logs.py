"""The event and impression logs, read and appended: a user's history, the training read,
the live aggregates pages use (popularity, trending, exposure), what a scroll has shown, and
the outcomes of an A/B experiment. One reader for every query over the two logs, so their
indexes and the attribution rule (``schema.follows_impression``) are kept in one place."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa

from homefeed.domain import Impression, ShownPage
from homefeed.events import CONTEXT_KEYS
from homefeed.store.dialect import bucket_of, day_of, insert
from homefeed.store.experiments import record_exposures
from homefeed.store.schema import (
    DAY,
    count_followed,
    events,
    follows_impression,
    impressions,
    item_impressions,
    items,
    user_changes,
)

# built once: constructing a statement on every request cost more than running it
_USER_EVENTS = (
    sa.select(events.c.item_id, events.c.type, events.c.value, events.c.ts)
    .where(events.c.user_id == sa.bindparam("user_id"))
    .order_by(events.c.ts.desc(), events.c.seq.desc())
    .limit(sa.bindparam("limit"))
)

_SEEN_ITEMS = (
    sa.select(events.c.item_id)
    .where(
        events.c.user_id == sa.bindparam("user_id"),
        events.c.type.in_(sa.bindparam("types", expanding=True)),
    )
    .distinct()
)

_IGNORED_ITEMS = (
    sa.select(impressions.c.item_id)
    .where(impressions.c.user_id == sa.bindparam("user_id"), impressions.c.ts >= sa.bindparam("since"))
    .group_by(impressions.c.item_id)
    .having(sa.func.count() >= sa.bindparam("shown_at_least"))
)
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


class Logs:
    """Every read of the event and impression logs, and the impression writes."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def user_events(self, user_id: str, limit: int) -> list[StoredEvent]:
        """A user's most recent ``limit`` events, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(_USER_EVENTS, {"user_id": user_id, "limit": limit}).all()
        make = StoredEvent._make
        return [make(row) for row in reversed(rows)]

    def seen_items(self, user_id: str, event_types: Collection[str]) -> set[str]:
        """Every item the user had an event of one of ``event_types`` on, however long ago
        (one read of the user's rows in the history index)."""
        if not event_types:
            return set()
        with self.engine.connect() as connection:
            rows = connection.execute(_SEEN_ITEMS, {"user_id": user_id, "types": sorted(event_types)})
            return {row.item_id for row in rows}

    def iter_event_rows(
        self, chunk_size: int = 50_000
    ) -> Iterator[tuple[str, str, str, float, str | None, str | None, float | None]]:
        """Every stored event as (user_id, item_id, type, timestamp, device, surface, value), in
        arrival order; device and surface are read from the event's context (None if absent)."""
        device, surface = (events.c.context[key].as_string() for key in CONTEXT_KEYS)
        query = sa.select(
            events.c.user_id, events.c.item_id, events.c.type, events.c.ts, device, surface, events.c.value
        ).order_by(events.c.seq)
        with self.engine.connect() as connection:
            result = connection.execution_options(yield_per=chunk_size).execute(query)
            for row in result:
                yield row.user_id, row.item_id, row.type, row.ts, row[4], row[5], row.value

    def item_popularity(self, event_types: Sequence[str], limit: int) -> list[tuple[str, int]]:
        """Items with the most events of the given types, most first, ties by id."""
        with self.engine.connect() as connection:
            found = connection.execute(most_events(event_types, limit))
            return [(row.item_id, int(row.n)) for row in found]

    def latest_event_time(self) -> float | None:
        """The newest event's timestamp (None for an empty log)."""
        with self.engine.connect() as connection:
            latest = connection.execute(sa.select(sa.func.max(events.c.ts))).scalar_one()
        return float(latest) if latest is not None else None

    def newest_share_cut(self, share: float) -> float | None:
        """The time at which the newest ``share`` of events begins (events at or after it are
        that share, ties included); None when that would hold out nothing or everything."""
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
            offset = int(total * share)
            if offset < 1:
                return None
            newest = sa.select(events.c.ts).order_by(events.c.ts.desc()).offset(offset - 1).limit(1)
            cut = connection.execute(newest).scalar_one()
            oldest = connection.execute(sa.select(sa.func.min(events.c.ts))).scalar_one()
        return float(cut) if cut > oldest else None

    def recent_activity(
        self, event_types: Sequence[str], since: float, bucket_seconds: float, until: float | None = None
    ) -> list[tuple[str, float, int]]:
        """(item, bucket time, events) for events of the given types since ``since`` (and up to
        ``until``), counted per item and time bucket, so callers can decay counts by age
        without reading each event."""
        bucket = sa.cast(events.c.ts / bucket_seconds, sa.BigInteger).label("bucket")
        window = [events.c.ts >= since] + ([events.c.ts <= until] if until is not None else [])
        query = (
            sa.select(events.c.item_id, bucket, sa.func.count().label("n"))
            .where(*window, events.c.type.in_(list(event_types)))
            .group_by(events.c.item_id, bucket)
        )
        with self.engine.connect() as connection:
            return [
                (row.item_id, float(row.bucket) * bucket_seconds, int(row.n))
                for row in connection.execute(query)
            ]

    def recent_users(
        self, event_types: Sequence[str], since: float, until: float, bucket_seconds: float
    ) -> tuple[list[tuple[str, float, int]], dict[str, int]]:
        """What trending counts, aggregated in the database (no row per event reaches Python):
        per item and time bucket between ``since`` and ``until``, how many users had an event
        of the given types on the item then (a user's burst counts once per bucket); and per
        item, how many users in the whole span."""
        by_bucket, by_item = _users_by_bucket_and_item(event_types, since, until, bucket_seconds)
        with self.engine.connect() as connection:
            buckets = [
                (row.item_id, float(row.bucket) * bucket_seconds, int(row.users))
                for row in connection.execute(by_bucket)
            ]
            totals = {row.item_id: int(row.users) for row in connection.execute(by_item)}
        return buckets, totals

    def trending_users(
        self,
        event_types: Sequence[str],
        since: float,
        until: float,
        bucket_seconds: float,
        half_life_seconds: float,
    ) -> tuple[dict[str, float], dict[str, int]]:
        """Per item between ``since`` and ``until``: each time bucket's users (as
        :meth:`recent_users`) weighted by the bucket's age, halving every ``half_life_seconds``
        and summed; and the users in the whole span. Decayed and summed in the database: at 10M
        events a week's buckets were 2 million rows, seconds of the serving worker's interpreter
        to read and sum. A database without ``exp`` (an SQLite built without its math
        functions) has them summed here."""
        by_bucket, by_item = _users_by_bucket_and_item(event_types, since, until, bucket_seconds)
        hourly = by_bucket.subquery()
        age = sa.literal(until) - (hourly.c.bucket * bucket_seconds + bucket_seconds / 2)
        exponent = -(math.log(2) / half_life_seconds) * sa.case((age < 0, 0.0), else_=age)
        weight = sa.func.exp(sa.case((exponent < -700, -700.0), else_=exponent))  # no underflow error
        decayed = sa.select(hourly.c.item_id, sa.func.sum(hourly.c.users * weight)).group_by(hourly.c.item_id)
        try:
            with self.engine.connect() as connection:
                scores = {str(item): float(score) for item, score in connection.execute(decayed)}
                totals = {str(item): int(n) for item, n in connection.execute(by_item)}
        except sa.exc.OperationalError as error:
            if "exp" not in str(error):
                raise
            buckets, totals = self.recent_users(event_types, since, until, bucket_seconds)
            return decayed_here(buckets, until, bucket_seconds, half_life_seconds), totals
        return scores, totals

    def shown_pairs(self, user_ids: Sequence[str], since: float) -> set[tuple[str, str]]:
        """(user, item) of every homepage impression since ``since`` to one of ``user_ids``."""
        found: set[tuple[str, str]] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(user_ids), 500):
                chunk = list(user_ids[start : start + 500])
                query = (
                    sa.select(impressions.c.user_id, impressions.c.item_id)
                    .where(impressions.c.user_id.in_(chunk), impressions.c.ts >= since)
                    .distinct()
                )
                found.update((str(user), str(item)) for user, item in connection.execute(query))
        return found

    def exposure_by(self, field: str, since: float) -> dict[str, tuple[int, int]]:
        """Per value of the shown items' ``field`` (category or creator; "" for none): homepage
        impressions since ``since`` and how many distinct items they showed."""
        column = {"category": items.c.category, "creator": items.c.creator}[field]
        key = sa.func.coalesce(column, "").label("key")
        query = (
            sa.select(key, sa.func.count(), sa.func.count(sa.distinct(impressions.c.item_id)))
            .select_from(impressions.join(items, items.c.id == impressions.c.item_id))
            .where(impressions.c.ts >= since)
            .group_by(key)
        )
        with self.engine.connect() as connection:
            return {
                str(value): (int(shown), int(distinct))
                for value, shown, distinct in connection.execute(query)
            }

    def events_per_minute(self, since: float) -> dict[int, int]:
        """Events stored per minute since ``since``, by minute number (epoch seconds // 60)."""
        minute = bucket_of(self.engine.dialect.name, events.c.ts, 60).label("minute")
        query = sa.select(minute, sa.func.count()).where(events.c.ts >= since).group_by(minute)
        with self.engine.connect() as connection:
            return {int(at): int(n) for at, n in connection.execute(query)}

    def impressions_per_item(self, since: float) -> dict[str, int]:
        """Homepage impressions per item from the UTC day of ``since`` on (the per-day counts)."""
        query = (
            sa.select(item_impressions.c.item_id, sa.func.sum(item_impressions.c.shown))
            .where(item_impressions.c.day >= int(since // DAY))
            .group_by(item_impressions.c.item_id)
        )
        with self.engine.connect() as connection:
            return {str(item): int(n) for item, n in connection.execute(query)}

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
        with self.engine.connect() as connection:
            counts = {row.item_id: (int(row.n), 0) for row in connection.execute(shown)}
            for row in connection.execute(users_acting_on_shown(event_types, since, window_seconds)):
                counts[row.item_id] = (counts.get(row.item_id, (0, 0))[0], int(row.n))
        return counts

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

    def user_outcomes(
        self, click_types: Collection[str], window_seconds: float, since: float
    ) -> list[tuple[int, int]]:
        """Per user shown anything since ``since``: (impressions, clicked) with the attribution
        rule of :func:`schema.count_followed` (what planning an experiment reads)."""
        query = (
            sa.select(sa.func.count(), count_followed(click_types, window_seconds))
            .where(impressions.c.ts >= since)
            .group_by(impressions.c.user_id)
        )
        with self.engine.connect() as connection:
            return [(int(shown), int(clicked or 0)) for shown, clicked in connection.execute(query)]

    def outcomes_by(
        self,
        dimension: str,
        click_types: Collection[str],
        conversion_types: Collection[str],
        window_seconds: float,
        since: float | None = None,
    ) -> list[tuple[str, int, int, int, int]]:
        """Per value of ``dimension`` (section, source, position, version, day or arm):
        (value, users, impressions, clicked, converted) of the impressions since ``since``, with
        the attribution rule of :func:`schema.count_followed`; days are UTC day numbers."""
        column = self._dimension(dimension)

        key = column.label("key")
        query = sa.select(
            key,
            sa.func.count(sa.distinct(impressions.c.user_id)),
            sa.func.count(),
            count_followed(click_types, window_seconds),
            count_followed(conversion_types, window_seconds),
        ).group_by(key)
        if since is not None:
            query = query.where(impressions.c.ts >= since)
        with self.engine.connect() as connection:
            return [
                (
                    "" if value is None else str(value),
                    int(users),
                    int(shown),
                    int(clicked or 0),
                    int(converted or 0),
                )
                for value, users, shown, clicked, converted in connection.execute(query)
            ]

    def impression_users(self, since: float | None = None) -> int:
        """How many users were shown anything since ``since``."""
        query = sa.select(sa.func.count(sa.distinct(impressions.c.user_id)))
        if since is not None:
            query = query.where(impressions.c.ts >= since)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def _dimension(self, dimension: str) -> sa.ColumnElement[Any]:
        columns: dict[str, sa.ColumnElement[Any]] = {
            "section": impressions.c.section,
            "source": impressions.c.source,
            "position": impressions.c.position,
            "version": impressions.c.model_version,
            "arm": impressions.c.arm,
            "day": day_of(self.engine.dialect.name, impressions.c.ts),
        }
        if dimension not in columns:
            raise ValueError(f"unknown dimension {dimension!r}; expected one of {sorted(columns)}")
        return columns[dimension]

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
        counted = Counter(
            (item_id, int(page.timestamp // DAY)) for page in pages for item_id, *_ in page.items
        )
        with self.engine.begin() as connection:
            kept = _not_deleted_since(connection, pages)
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
                for page in kept
            ]
            if params:
                connection.execute(_expand_page(connection), params)
            add_counts = insert(connection, item_impressions)
            add_counts = add_counts.on_conflict_do_update(
                index_elements=["item_id", "day"],
                set_={"shown": item_impressions.c.shown + add_counts.excluded.shown},
            )
            # sorted: concurrent writers take the rows' locks in one order (no deadlock)
            counts = [{"item_id": i, "day": d, "shown": n} for (i, d), n in sorted(counted.items())]
            connection.execute(add_counts, counts)
            seen = ((name, page.user_id, arm, page.timestamp) for page in kept for name, arm in page.arms)
            record_exposures(connection, seen)


def _not_deleted_since(connection: sa.Connection, pages: Sequence[ShownPage]) -> list[ShownPage]:
    """The pages whose user was not deleted after the page was built. Impressions wait about a
    second to be written in a batch: a deletion in between (through any worker) must not see
    them written after it. The per-item daily counts carry no user and count every page."""
    found = connection.execute(last_deletions(sorted({page.user_id for page in pages})))
    deleted = {user_id: at for user_id, at in found}
    return [page for page in pages if page.timestamp > deleted.get(page.user_id, -math.inf)]


def _users_by_bucket_and_item(
    event_types: Sequence[str], since: float, until: float, bucket_seconds: float
) -> tuple[sa.Select[str, int, int], sa.Select[str, int]]:
    """Trending's two counts between ``since`` and ``until``: users per (item, time bucket
    number) and users per item, of events of ``event_types``."""
    bucket = sa.cast(events.c.ts / bucket_seconds, sa.BigInteger).label("bucket")
    users = sa.func.count(sa.distinct(events.c.user_id)).label("users")
    window = (events.c.ts >= since, events.c.ts <= until, events.c.type.in_(list(event_types)))
    by_bucket = sa.select(events.c.item_id, bucket, users).where(*window).group_by(events.c.item_id, bucket)
    by_item = sa.select(events.c.item_id, users).where(*window).group_by(events.c.item_id)
    return by_bucket, by_item


def decayed_here(
    buckets: Sequence[tuple[str, float, int]], until: float, bucket_seconds: float, half_life_seconds: float
) -> dict[str, float]:
    """Per item, :meth:`Logs.recent_users`' bucket counts weighted by the bucket's age at
    ``until`` (halving every ``half_life_seconds``) and summed, in Python."""
    rate = math.log(2) / half_life_seconds
    scores: dict[str, float] = {}
    for item_id, start, count in buckets:
        age = max(until - start - bucket_seconds / 2, 0.0)
        scores[item_id] = scores.get(item_id, 0.0) + count * math.exp(-rate * age)
    return scores


def most_events(event_types: Sequence[str], limit: int) -> sa.Select[str, int]:
    """Items by their events of ``event_types``, most first, ties by id: read from the events'
    item index alone (it covers the type), never from the table."""
    return (
        sa.select(events.c.item_id, sa.func.count().label("n"))
        .where(events.c.type.in_(list(event_types)))
        .group_by(events.c.item_id)
        .order_by(sa.desc("n"), events.c.item_id)
        .limit(limit)
    )


def users_acting_on_shown(
    event_types: Sequence[str], since: float, window_seconds: float
) -> sa.Select[str, int]:
    """Per item: users with an event of ``event_types`` on it since ``since`` that followed a
    homepage impression of it within ``window_seconds`` (the events' item index covers type,
    time and user, so each event is checked without a table lookup)."""
    after_shown = (
        sa.select(impressions.c.seq)
        .where(follows_impression(event_types, window_seconds), impressions.c.ts >= since)
        .exists()
    )
    return (
        sa.select(events.c.item_id, sa.func.count(sa.distinct(events.c.user_id)).label("n"))
        .where(events.c.ts >= since, after_shown)
        .group_by(events.c.item_id)
    )


def last_deletions(users: Sequence[str]) -> sa.Select[str, float]:
    """(user id, when last deleted) of those of ``users`` ever deleted: read through the
    changes' user index, never by scanning every change."""
    return (
        sa.select(user_changes.c.user_id, sa.func.max(user_changes.c.at))
        .where(user_changes.c.user_id.in_(users), user_changes.c.deleted)
        .group_by(user_changes.c.user_id)
    )


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
