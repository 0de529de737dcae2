"""What an event means: the weight of each event type, which types count as liking and which
as negative feedback, and the context keys an event may carry.

Training (``Interactions.from_rows``), evaluation (``EvalDataset.load``), the page (the user's
history) and the live aggregates all read events through an :class:`EventPolicy`, so one rule
decides everywhere. A trained version records the weights it was trained with; the page reads
the history with those, not with whatever the settings say today.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from types import MappingProxyType
from typing import Literal

import numpy as np

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "impression": 0.0,
    "view": 0.5,
    "click": 1.0,
    "rating": 1.0,
    "like": 2.0,
    "add_to_cart": 3.0,
    "purchase": 4.0,
    "dislike": -2.0,
}
CONTEXT_KEYS = ("device", "surface")  # read from an event's ``context`` and from a page request
# how an event's value (play count, watch time, rating) scales its type's weight: "ignored";
# "log": a liking event's weight times 1 + ln(1 + value) (the 50th play adds little more than
# the 10th); "linear": times the value itself (where values are small and each one counts). The
# two confidences of Hu, Koren and Volinsky's implicit-feedback ALS.
ValueRule = Literal["ignored", "log", "linear"]
VALUE_RULES: tuple[ValueRule, ...] = ("ignored", "log", "linear")


@dataclass(frozen=True)
class EventPolicy:
    """Event type → implicit-feedback weight. A positive weight is a sign of liking, a negative
    one negative feedback, zero (or a type the policy does not know) says nothing."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    values: ValueRule = "ignored"
    _lookup: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup = dict(self.weights)
        object.__setattr__(self, "_lookup", lookup)
        object.__setattr__(self, "weights", MappingProxyType(lookup))

    def with_values(self, rule: ValueRule) -> EventPolicy:
        """The same weights with event values read by ``rule``."""
        return self if rule == self.values else EventPolicy(dict(self.weights), rule)

    @classmethod
    def of(cls, weights: EventPolicy | Mapping[str, float]) -> EventPolicy:
        """``weights`` as a policy (a policy is returned as it is)."""
        return weights if isinstance(weights, EventPolicy) else cls(weights)

    @property
    def types(self) -> list[str]:
        """Every known event type, sorted (what an import or POST /v1/events accepts)."""
        return sorted(self.weights)

    def knows(self, kind: str) -> bool:
        return kind in self.weights

    def weight(self, kind: str) -> float:
        """The type's weight; 0 for a type the policy does not know."""
        return self._lookup.get(kind, 0.0)

    def weights_of(self, kinds: Iterable[str]) -> tuple[float, ...]:
        """The weight of each of ``kinds``, in order (a page weighs hundreds of events)."""
        return tuple(map(self._lookup.get, kinds, repeat(0.0)))

    def strength(self, kind: str, value: float | None) -> float:
        """The weight of one event of type ``kind`` with ``value`` (see :data:`ValueRule`;
        :func:`scaled_weights` for many events at once)."""
        weight = self._lookup.get(kind, 0.0)
        if self.values == "ignored" or weight <= 0 or value is None or not value > 0:
            return weight
        return weight * (value if self.values == "linear" else 1.0 + math.log1p(value))

    def strengths_of(self, events: Iterable[tuple[str, float | None]]) -> tuple[float, ...]:
        """:meth:`strength` of each (type, value), in order."""
        if self.values == "ignored":
            return self.weights_of(kind for kind, _ in events)
        return tuple(self.strength(kind, value) for kind, value in events)

    def counts(self, kind: str) -> bool:
        """Whether an event of this type says anything about the user (liking or not)."""
        return self.weight(kind) != 0.0

    @property
    def positive_types(self) -> list[str]:
        """Types with a positive weight, sorted: what counts as liking, choosing or clicking."""
        return sorted(kind for kind, weight in self.weights.items() if weight > 0)

    @property
    def negative_types(self) -> list[str]:
        """Types with a negative weight, sorted: negative feedback such as a dislike."""
        return sorted(kind for kind, weight in self.weights.items() if weight < 0)


def scaled_weights(weights: np.ndarray, values: np.ndarray, rule: ValueRule) -> np.ndarray:
    """:meth:`EventPolicy.strength` of many events from their type weights and values."""
    if rule == "ignored":
        return weights
    counted = (weights > 0) & (values > 0)  # NaN compares false
    factor = np.ones(len(weights), dtype=np.float64)
    factor[counted] = values[counted] if rule == "linear" else 1.0 + np.log1p(values[counted])
    return (weights * factor).astype(weights.dtype)


def normalized(value: object) -> str | None:
    """Context values compare case- and space-insensitively; empty means unknown."""
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


@dataclass(frozen=True)
class EventWindow:
    """When an event may have happened, against the server's clock: at most
    ``max_future_seconds`` ahead (clock skew) and, when ``max_age_seconds`` is set, at most that
    long ago. HTTP and import check events with the same rule (import without an age limit)."""

    max_future_seconds: float
    max_age_seconds: float | None = None

    def problem(self, timestamp: float, now: float) -> str | None:
        """What is wrong with ``timestamp`` (None when it fits)."""
        if timestamp > now + self.max_future_seconds:
            return (
                f"timestamp {timestamp:.0f} is {timestamp - now:,.0f} s ahead of the server's clock; "
                f"at most {self.max_future_seconds:,.0f} s ahead is accepted"
            )
        if self.max_age_seconds is not None and timestamp < now - self.max_age_seconds:
            return (
                f"timestamp {timestamp:.0f} is {(now - timestamp) / 86_400:,.1f} days old; events older "
                f"than {self.max_age_seconds / 86_400:,.1f} days come in through `homefeed import`"
            )
        return None
