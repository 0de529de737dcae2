"""Context features of the ranker: the request's hour and weekday, how much each item is picked
at this time of day, on this weekday, on this device and surface (smoothed lift), the item's
age at request time, and its text's match with the user's stated interests.

Lifts are learned from the training events' times and contexts; an item's age runs from its
``published_at``, else from its first pick. Training, evaluation and serving compute them here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from homefeed.events import CONTEXT_KEYS
from homefeed.models.context import DAY, RequestContext, hour_bands, weekdays
from homefeed.models.data import Interactions

SMOOTHING = 20.0  # pseudo-picks of the overall mix added to every item's picks
MAX_VALUES = 32  # most frequent devices (surfaces) kept; rarer ones count as unknown
TIME_KEYS = {"hour": (hour_bands, 8), "weekday": (weekdays, 7)}
AGE_UNKNOWN = -20.0
CONTEXT_FEATURES = (
    ("hour_of_day", -1.0, "3-hour band of the request's UTC day (0-7; -1 unknown)"),
    ("day_of_week", -1.0, "weekday of the request, Monday 0 (UTC; -1 unknown)"),
    ("hour_lift", 0.0, "log lift of the item's picks in the request's 3-hour band"),
    ("weekday_lift", 0.0, "log lift of the item's picks on the request's weekday"),
    ("device_lift", 0.0, "log lift of the item's picks on the request's device"),
    ("surface_lift", 0.0, "log lift of the item's picks on the request's surface"),
    ("item_age", AGE_UNKNOWN, "signed log(1 + days) from the item's publication (or first pick)"),
    ("interests_match", 0.0, "best cosine of the item's text to a liked phrase of the stated interests"),
    ("interests_aversion", 0.0, "best cosine of the item's text to a disliked phrase"),
)


@dataclass
class ContextStats:
    """Per item: the log lift of each context value (columns of ``lift[key]``, named by
    ``values[key]``), and the time its age counts from (NaN: unknown)."""

    values: dict[str, list[str]]
    lift: dict[str, np.ndarray]  # key -> [n_items, len(values[key])]
    born: np.ndarray  # [n_items] epoch seconds
    _columns: dict[str, dict[str, int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._columns = {
            key: {value: i for i, value in enumerate(names)} for key, names in self.values.items()
        }

    @classmethod
    def empty(cls, n_items: int = 0) -> ContextStats:
        return cls({}, {}, np.full(n_items, np.nan))

    @classmethod
    def from_data(cls, data: Interactions) -> ContextStats:
        """Lifts from the positive events of ``data`` (their times, and their devices and
        surfaces where ``data.contexts`` has them); ages from ``data.item_fields``."""
        positive = data.weights > 0
        items, times = data.items[positive], data.timestamps[positive]
        values: dict[str, list[str]] = {}
        lift: dict[str, np.ndarray] = {}
        for key, (bucket, size) in TIME_KEYS.items():
            if len(times):
                codes = bucket(times)
                values[key] = [str(code) for code in range(size)]
                lift[key] = _item_lift(items, codes, data.n_items, size)
        for key in CONTEXT_KEYS:
            column = data.contexts.get(key)
            if column is None:
                continue
            picked = column[positive].tolist()
            seen = Counter(value for value in picked if value)
            names = [value for value, _ in seen.most_common(MAX_VALUES)]
            if not names:
                continue
            index = {value: i for i, value in enumerate(names)}
            codes = np.array([index.get(value, -1) for value in picked], dtype=np.int64)
            known = codes >= 0
            values[key] = names
            lift[key] = _item_lift(items[known], codes[known], data.n_items, len(names))
        return cls(values, lift, _born(data))

    def features(
        self, context: RequestContext | None, candidates: np.ndarray, text: np.ndarray | None
    ) -> list[np.ndarray]:
        """Columns in :data:`CONTEXT_FEATURES` order for the candidate items (``text``: unit
        item text vectors, for the stated-interest match)."""
        n = len(candidates)
        context = context or RequestContext()
        time = context.time
        codes = (
            {key: int(bucket(np.array([time]))[0]) for key, (bucket, _) in TIME_KEYS.items()}
            if time is not None
            else {}
        )
        columns = [np.full(n, float(codes.get(key, -1))) for key in TIME_KEYS]
        for key in TIME_KEYS:
            columns.append(self._lift(key, str(codes[key]) if key in codes else None, candidates))
        for key in CONTEXT_KEYS:
            columns.append(self._lift(key, context.value(key), candidates))
        columns.append(self._age(time, candidates))
        columns += _interest_match(context, candidates, text)
        return columns

    def _lift(self, key: str, value: str | None, candidates: np.ndarray) -> np.ndarray:
        column = self._columns.get(key, {}).get(value) if value is not None else None
        if column is None:
            return np.zeros(len(candidates))
        lift: np.ndarray = self.lift[key][candidates, column].astype(np.float64)
        return lift

    def _age(self, time: float | None, candidates: np.ndarray) -> np.ndarray:
        """Signed log(1 + days) since the item appeared (negative: not yet published); -20 unknown."""
        if time is None or len(self.born) == 0:
            return np.full(len(candidates), AGE_UNKNOWN)
        days = (time - self.born[candidates]) / DAY
        age = np.sign(days) * np.log1p(np.abs(days))
        return np.where(np.isnan(age), AGE_UNKNOWN, age)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"context_born": self.born, **{f"context_lift_{key}": lift for key, lift in self.lift.items()}}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], values: dict[str, list[str]]) -> ContextStats:
        lift = {key: arrays[f"context_lift_{key}"] for key in values}
        return cls(values, lift, arrays["context_born"])


def _interest_match(
    context: RequestContext, candidates: np.ndarray, text: np.ndarray | None
) -> list[np.ndarray]:
    """Best cosine to a liked and to a disliked phrase (zeros without text or interests)."""
    columns = []
    for phrases in (context.liked, context.disliked):
        if text is None or phrases is None or len(phrases) == 0 or text.shape[1] != phrases.shape[1]:
            columns.append(np.zeros(len(candidates)))
        else:
            columns.append((text[candidates] @ phrases.T).max(axis=1).astype(np.float64))
    return columns


def _item_lift(items: np.ndarray, codes: np.ndarray, n_items: int, size: int) -> np.ndarray:
    """log P(value | item) / P(value), P(value | item) smoothed with ``SMOOTHING`` pseudo-picks
    of the overall share."""
    counts = np.zeros((n_items, size))
    np.add.at(counts, (items, codes), 1.0)
    share = (counts.sum(axis=0) + 1.0) / (counts.sum() + size)
    within = (counts + SMOOTHING * share) / (counts.sum(axis=1, keepdims=True) + SMOOTHING)
    lift: np.ndarray = np.log(within / share).astype(np.float32)
    return lift


def _born(data: Interactions) -> np.ndarray:
    """Each item's publication time, else its first pick, else NaN."""
    born = np.full(data.n_items, np.nan)
    positive = data.weights > 0
    if positive.any():
        first = np.full(data.n_items, np.inf)
        np.minimum.at(first, data.items[positive], data.timestamps[positive])
        born = np.where(np.isfinite(first), first, np.nan)
    for index, fields in enumerate(data.item_fields or []):
        if fields.published_at is not None:
            born[index] = fields.published_at
    return born


def contexts_of(
    data: Interactions, users: Sequence[int], latest: np.ndarray | None = None
) -> list[RequestContext]:
    """Each user's context as offline scoring sees it: the time, device and surface of their
    latest event in ``data``, and their embedded stated interests when ``data`` has them.
    ``latest`` is ``data.latest_rows()`` when the caller asks for many batches of users (it
    sorts every event)."""
    latest = data.latest_rows() if latest is None else latest
    found = []
    for user in users:
        row = int(latest[user])
        liked, disliked = data.interests.get(data.user_ids[user], (None, None))
        if row < 0:
            found.append(RequestContext(liked=liked, disliked=disliked))
            continue
        values = {key: data.contexts[key][row] or None for key in CONTEXT_KEYS if key in data.contexts}
        found.append(RequestContext(float(data.timestamps[row]), liked=liked, disliked=disliked, **values))
    return found
