"""The synthetic choice model simulated in rounds, for logs of millions of events.

The per-event simulation (``synth.generate``'s default for small logs) draws one event at a
time: about 130 µs each, so 10M events would take over 20 minutes. Here each day's events are
drawn together in rounds: round k holds every user's k-th event of the day, so within a round
no user appears twice, and everything in it is one vectorised draw. The model is the same
(a slate ordered by the platform's popularity, position bias, taste + quality + freshness +
Gumbel noise, no item picked twice by one user, rich-get-richer popularity, taste drift, play
counts); what differs is that popularity moves between rounds rather than between events, and a
slate is drawn with replacement (a repeat in a slate of 20 from thousands is rare and harmless).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

KINDS = ("click", "dislike", "like", "purchase")  # codes 0..3 of ``EventColumns.kind``


@dataclass
class EventColumns:
    """A log as columns, in time order: user and item indices, kind codes, seconds, values
    (NaN: none), and each event's creation number (its ``event_id``)."""

    user: np.ndarray
    item: np.ndarray
    kind: np.ndarray
    timestamp: np.ndarray
    value: np.ndarray
    number: np.ndarray

    def __len__(self) -> int:
        return int(self.user.size)

    def take(self, order: np.ndarray) -> EventColumns:
        return EventColumns(*(column[order] for column in self._columns()))

    def _columns(self) -> tuple[np.ndarray, ...]:
        return (self.user, self.item, self.kind, self.timestamp, self.value, self.number)

    def rows(self, user_ids: list[str], item_ids: list[str]) -> list[dict[str, Any]]:
        """The events as the per-event simulation's dicts (for the domain dressings)."""
        rows: list[dict[str, Any]] = []
        for user, item, kind, when, value, number in zip(*(c.tolist() for c in self._columns()), strict=True):
            row: dict[str, Any] = {
                "event_id": f"s{number:07d}",
                "user_id": user_ids[user],
                "item_id": item_ids[item],
                "type": KINDS[kind],
                "timestamp": when,
            }
            if value == value:  # not NaN
                row["value"] = int(value)
            rows.append(row)
        return rows

    def write_jsonl(self, path: Path, user_ids: list[str], item_ids: list[str]) -> None:
        """One JSON object per line, as ``json.dumps`` would write the rows, without building them."""
        kinds = [f'"type": "{kind}"' for kind in KINDS]
        with path.open("w", encoding="utf-8") as handle:
            lines: list[str] = []
            for user, item, kind, when, value, number in zip(
                *(c.tolist() for c in self._columns()), strict=True
            ):
                extra = f', "value": {int(value)}' if value == value else ""
                lines.append(
                    f'{{"event_id": "s{number:07d}", "user_id": "{user_ids[user]}", '
                    f'"item_id": "{item_ids[item]}", {kinds[kind]}, "timestamp": {when!r}{extra}}}\n'
                )
                if len(lines) >= 100_000:
                    handle.writelines(lines)
                    lines.clear()
            handle.writelines(lines)


class RoundsConfig(Protocol):
    """What the rounds read of ``synth.SynthConfig``."""

    @property
    def days(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def events_per_user_day(self) -> float: ...
    @property
    def slate_size(self) -> int: ...
    @property
    def taste_drift(self) -> float: ...
    @property
    def play_counts(self) -> bool: ...


class _Seen:
    """Which (user, item) pairs have been picked: a sorted array of ``user * items + item``."""

    def __init__(self, n_items: int) -> None:
        self.n_items = n_items
        self.keys = np.empty(0, dtype=np.int64)

    def contains(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        keys = users.astype(np.int64) * self.n_items + items
        at = np.searchsorted(self.keys, keys)
        found = np.zeros(keys.size, dtype=bool)
        inside = at < self.keys.size
        found[inside] = self.keys[at[inside]] == keys[inside]
        return found

    def add(self, users: np.ndarray, items: np.ndarray) -> None:
        keys = np.sort(users.astype(np.int64) * self.n_items + items)
        self.keys = np.insert(self.keys, np.searchsorted(self.keys, keys), keys)


def simulate_rounds(
    config: RoundsConfig,
    rng: np.random.Generator,
    world: dict[str, np.ndarray],
    start: float,
    on_progress: Callable[[int, int], None] | None = None,
) -> EventColumns:
    """Draw the log of ``config`` over the items and users of ``world`` (``item_topic``,
    ``quality``, ``published``, ``preferences``, ``activity``)."""
    day = 86_400.0
    item_topic, quality, published = world["item_topic"], world["quality"], world["published"]
    preferences, activity = world["preferences"], world["activity"]
    n_users, n_topics = preferences.shape
    by_publication = np.argsort(published, kind="stable")
    published_sorted = published[by_publication]
    platform_popularity = quality.copy()
    log_quality = 0.7 * np.log(quality)
    examine = np.log(1.0 / np.log2(np.arange(config.slate_size) + 2.0))
    drifting = config.taste_drift > 0
    focus = np.asarray(
        rng.integers(n_topics, size=n_users) if drifting else np.zeros(n_users, dtype=np.int64)
    )
    plays = np.random.default_rng([config.seed, 1])
    seen = _Seen(item_topic.size)
    parts: list[tuple[np.ndarray, ...]] = []
    created = 0
    for day_index in range(config.days):
        counts = rng.poisson(config.events_per_user_day * activity)
        owner = np.repeat(np.arange(n_users), counts)
        moments = start + (day_index + rng.random(owner.size)) * day
        moments = moments[np.lexsort((moments, owner))]  # each user's moments in time order
        rank = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
        for k in range(int(counts.max(initial=0))):
            in_round = np.flatnonzero(rank == k)
            users, now = owner[in_round], moments[in_round]
            taste = preferences[users]
            if drifting:
                switch = rng.random(users.size) < 0.15
                focus[users[switch]] = rng.integers(n_topics, size=int(switch.sum()))
                taste = (1.0 - config.taste_drift) * taste + config.taste_drift * (
                    np.arange(n_topics) == focus[users][:, None]
                )
            available = np.searchsorted(published_sorted, now, side="right")
            enough = available >= config.slate_size
            users, now, taste, available = users[enough], now[enough], taste[enough], available[enough]
            if users.size == 0:
                continue
            draws = (rng.random((users.size, config.slate_size)) * available[:, None]).astype(np.int64)
            slate = by_publication[draws]
            slate = np.take_along_axis(
                slate, np.argsort(-platform_popularity[slate], axis=1, kind="stable"), 1
            )
            trying = (
                plays.random(users.size) < 0.5 if config.play_counts else np.zeros(users.size, dtype=bool)
            )
            liking = np.take_along_axis(taste, item_topic[slate], 1)
            utility = (
                np.where(trying, 0.0, 2.5)[:, None] * np.log(liking + 0.02)
                + log_quality[slate]
                - (now[:, None] - published[slate]) / day / 45.0
                + examine
                + rng.gumbel(size=slate.shape)
            )
            rows = np.arange(users.size)
            pick = np.argmax(utility, axis=1)
            while True:  # an item the user already picked is out of their slate
                repeat = np.flatnonzero(
                    seen.contains(users, slate[rows, pick]) & np.isfinite(utility[rows, pick])
                )
                if repeat.size == 0:
                    break
                utility[repeat, pick[repeat]] = -np.inf
                pick[repeat] = np.argmax(utility[repeat], axis=1)
            chosen = np.isfinite(utility[rows, pick])
            users, now, items = users[chosen], now[chosen], slate[rows, pick][chosen]
            seen.add(users, items)
            np.add.at(platform_popularity, items, 0.05)
            pref = preferences[users, item_topic[items]]
            kind = np.zeros(users.size, dtype=np.int8)
            first, second, third = rng.random((3, users.size))
            disliked = (pref < 0.03) & (first < 0.5)
            liked = ~disliked & (second < 0.3 * pref + 0.05)
            kind[disliked] = 1
            kind[liked] = np.where(third[liked] < 0.7, 2, 3)
            value = np.full(users.size, np.nan)
            if config.play_counts:
                counted = kind != 1
                value[counted] = 1 + plays.poisson(40.0 * pref[counted] ** 2)
            number = np.arange(created, created + users.size)
            created += users.size
            parts.append((users, items, kind, np.round(now, 3), value, number))
        if on_progress is not None:
            on_progress(day_index + 1, config.days)
    columns = (
        EventColumns(*(np.concatenate([part[i] for part in parts]) for i in range(6))) if parts else _empty()
    )
    return columns.take(np.lexsort((columns.number, columns.timestamp)))


def _empty() -> EventColumns:
    return EventColumns(
        np.empty(0, np.int64),
        np.empty(0, np.int64),
        np.empty(0, np.int8),
        np.empty(0),
        np.empty(0),
        np.empty(0, np.int64),
    )
