"""Interactions: the behaviour log as arrays over a fixed user and item vocabulary."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from homefeed.domain import ItemFields, UserProfile
from homefeed.events import CONTEXT_KEYS, EventPolicy, ValueRule, normalized, scaled_weights

# (user, item, type, timestamp), optionally followed by the event's device and surface, and
# then by its value (a play count, watch time or rating; None: none)
EventRow = (
    tuple[str, str, str, float]
    | tuple[str, str, str, float, str | None, str | None]
    | tuple[str, str, str, float, str | None, str | None, float | None]
)


def natural_order(ids: Iterable[str]) -> list[str]:
    """Sort ids numerically when every id is a number, else as text; ties break by this order."""
    unique = sorted(set(ids))
    if unique and all(value.isdigit() for value in unique):
        return sorted(unique, key=int)
    return unique


def _renumbered(seen: Mapping[str, int], ordered: Sequence[str]) -> np.ndarray:
    """For each code given in order of arrival (``seen``), the id's position in ``ordered``."""
    position = {value: index for index, value in enumerate(ordered)}
    return np.fromiter((position[value] for value in seen), dtype=np.int64, count=len(seen))


@dataclass
class Interactions:
    """Events as parallel arrays: who (index), what (index), how much (weight), when (seconds)."""

    user_ids: list[str]
    item_ids: list[str]
    users: np.ndarray
    items: np.ndarray
    weights: np.ndarray
    timestamps: np.ndarray
    # per event, its value (play count, watch time, rating; NaN: none), kept so that a choice of
    # value rule can weigh the same events again (``EventPolicy.scaled``); None: none read
    values: np.ndarray | None = field(default=None, repr=False)
    item_text: np.ndarray | None = field(default=None, repr=False)  # text embeddings, item order
    item_fields: Sequence[ItemFields] | None = field(default=None, repr=False)  # metadata, item order
    profiles: dict[str, UserProfile] = field(default_factory=dict, repr=False)  # by user id, if known
    # per event, the value of each context key (e.g. "device"; "" = unknown); empty: none known
    contexts: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    # by user id: unit vectors of the liked and of the disliked phrases of stated interests
    interests: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    _user_index: dict[str, int] = field(default_factory=dict, repr=False)
    _item_index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._user_index = {uid: i for i, uid in enumerate(self.user_ids)}
        self._item_index = {iid: i for i, iid in enumerate(self.item_ids)}

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[EventRow],
        events: EventPolicy | Mapping[str, float],
        catalog: Sequence[str] | None = None,
    ) -> Interactions:
        """Build from (user, item, type, timestamp[, device, surface[, value]]) rows, weighted by
        the event policy (or a type → weight mapping) and its value rule; types that say nothing
        (unknown, weight 0) are dropped.

        With a ``catalog`` the item vocabulary is exactly the catalog (events on items outside
        it are dropped), so items nobody touched yet can still be recommended.
        """
        # ids and context values are coded as they arrive, so 10M events hold each distinct
        # string once and the rest as machine numbers (lists of strings and floats held
        # several GB at 10M events, and set the trainer's peak memory)
        users_seen: dict[str, int] = {}
        item_index = {iid: i for i, iid in enumerate(natural_order(catalog))} if catalog is not None else None
        items_seen: dict[str, int] = {}
        user_codes, item_codes = array("q"), array("q")
        weight_col, time_col, value_col = array("f"), array("d"), array("d")
        context_seen: list[dict[str, int]] = [{"": 0} for _ in CONTEXT_KEYS]
        context_codes = [array("q") for _ in CONTEXT_KEYS]
        policy = EventPolicy.of(events)
        for row in rows:
            user_id, item_id, kind, timestamp = row[:4]
            weight = policy.weight(kind)
            if weight == 0.0:
                continue
            if item_index is not None:
                item = item_index.get(item_id)
                if item is None:
                    continue
            else:
                item = items_seen.setdefault(item_id, len(items_seen))
            value = row[6] if len(row) > 6 else None
            user_codes.append(users_seen.setdefault(user_id, len(users_seen)))
            item_codes.append(item)
            weight_col.append(weight)
            time_col.append(timestamp)
            value_col.append(math.nan if value is None else float(value))
            for seen, codes, context in zip(context_seen, context_codes, row[4:6], strict=False):
                codes.append(seen.setdefault(normalized(context) or "", len(seen)))
        user_ids = natural_order(users_seen)
        item_ids = natural_order(catalog if catalog is not None else items_seen)
        users = _renumbered(users_seen, user_ids)[np.frombuffer(user_codes, dtype=np.int64)]
        items = np.frombuffer(item_codes, dtype=np.int64).copy()
        if item_index is None:
            items = _renumbered(items_seen, item_ids)[items]
        contexts = {
            key: np.asarray(list(seen), dtype=object)[np.frombuffer(codes, dtype=np.int64)]
            for key, seen, codes in zip(CONTEXT_KEYS, context_seen, context_codes, strict=True)
            if len(codes) == len(user_codes) and len(seen) > 1
        }
        values = np.frombuffer(value_col, dtype=np.float64).copy()
        return cls(
            user_ids=user_ids,
            item_ids=item_ids,
            users=users,
            items=items,
            weights=scaled_weights(np.frombuffer(weight_col, dtype=np.float32).copy(), values, policy.values),
            timestamps=np.frombuffer(time_col, dtype=np.float64).copy(),
            values=values if not np.isnan(values).all() else None,
            contexts=contexts,
        )

    def valued(self) -> bool:
        """Whether the events' values could tell strengths apart: some liking events carry
        values, and not all the same one."""
        if self.values is None:
            return False
        known = self.values[(self.weights > 0) & ~np.isnan(self.values)]
        return len(known) > 0 and bool(known.min() < known.max())

    def reweighed(self, rule: ValueRule) -> Interactions:
        """These events (read with values ignored) with their weights scaled by value ``rule``."""
        values = self.values if self.values is not None else np.full(len(self.weights), np.nan)
        copy = self.subset(np.arange(len(self.weights)))
        copy.weights = scaled_weights(self.weights, values, rule)
        return copy

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def user_index(self, user_id: str) -> int | None:
        return self._user_index.get(user_id)

    def item_index(self, item_id: str) -> int | None:
        return self._item_index.get(item_id)

    def matrix(self) -> sp.csr_matrix:
        """Users x items; weights of repeated (user, item) pairs are summed, net negatives dropped."""
        summed = sp.csr_matrix(
            (self.weights.astype(np.float32), (self.users, self.items)),
            shape=(self.n_users, self.n_items),
        )
        summed.sum_duplicates()
        summed.data[summed.data < 0] = 0.0
        summed.eliminate_zeros()
        return summed

    def sequences(self, positive_only: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per user (by index): item indices and weights ordered by time (stable on row order)."""
        return [(self.items[rows], self.weights[rows]) for rows in self.user_rows(positive_only)]

    def sequence_timestamps(self, positive_only: bool = True) -> list[np.ndarray]:
        """Per user: the timestamps of :meth:`sequences`, in the same order."""
        return [self.timestamps[rows] for rows in self.user_rows(positive_only)]

    def latest_rows(self) -> np.ndarray:
        """Per user (by index): the row of their latest event of any weight (time, then row
        order), or -1 for a user without events."""
        rows = self.user_rows(positive_only=False)
        return np.array([found[-1] if len(found) else -1 for found in rows], dtype=np.int64)

    def user_rows(self, positive_only: bool = True) -> list[np.ndarray]:
        """Per user (by index): their row indices ordered by time (stable on row order)."""
        keep = self.weights > 0 if positive_only else np.ones(len(self.weights), dtype=bool)
        rows = np.flatnonzero(keep)
        order = rows[np.lexsort((rows, self.timestamps[rows], self.users[rows]))]
        bounds = np.searchsorted(self.users[order], np.arange(self.n_users + 1))
        return [order[bounds[u] : bounds[u + 1]] for u in range(self.n_users)]

    def subset(self, rows: np.ndarray) -> Interactions:
        """The same vocabularies, item text and profiles with only ``rows`` (mask or indices)."""
        part = Interactions(
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            users=self.users[rows],
            items=self.items[rows],
            weights=self.weights[rows],
            timestamps=self.timestamps[rows],
            values=self.values[rows] if self.values is not None else None,
            item_text=self.item_text,
            item_fields=self.item_fields,
            profiles=self.profiles,
            contexts={key: values[rows] for key, values in self.contexts.items()},
            interests=self.interests,
        )
        return part

    def last_positive(self, per_user: int = 1, keep_at_least: int = 2) -> np.ndarray:
        """Row indices of each user's latest ``per_user`` positive events, for users with at
        least ``keep_at_least`` more positive events before them (time order, then row order)."""
        rows = np.flatnonzero(self.weights > 0)
        order = rows[np.lexsort((rows, self.timestamps[rows], self.users[rows]))]
        bounds = np.searchsorted(self.users[order], np.arange(self.n_users + 1))
        chosen = [
            order[bounds[user + 1] - per_user : bounds[user + 1]]
            for user in range(self.n_users)
            if bounds[user + 1] - bounds[user] >= per_user + keep_at_least
        ]
        return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)

    def seen_matrix(self) -> sp.csr_matrix:
        """Users x items with a 1 wherever the user did anything (positive or negative)."""
        seen = sp.csr_matrix(
            (np.ones(len(self.users), dtype=np.float32), (self.users, self.items)),
            shape=(self.n_users, self.n_items),
        )
        seen.sum_duplicates()
        seen.data[:] = 1.0
        return seen


def pack_sequences(sequences: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Ragged per-user item sequences as two flat arrays, for safetensors or npz files."""
    lengths = np.array([len(sequence) for sequence in sequences], dtype=np.int64)
    items = np.concatenate(sequences).astype(np.int64) if len(sequences) else np.zeros(0, dtype=np.int64)
    return {"sequence_lengths": lengths, "sequence_items": items}


def unpack_sequences(lengths: np.ndarray, items: np.ndarray) -> list[np.ndarray]:
    """The inverse of :func:`pack_sequences`."""
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [items[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


def kept_sequences(sequences: Sequence[np.ndarray], keep: np.ndarray) -> list[np.ndarray]:
    """The per-user ``sequences`` of the users where ``keep`` is True (forgetting the others)."""
    return [sequence for sequence, kept in zip(sequences, keep, strict=True) if kept]


def blanked_rows(array: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """A copy of ``array`` with rows ``indices`` zeroed (a forgotten item's vectors)."""
    blanked = np.array(array, copy=True)
    blanked[indices] = 0
    return blanked
