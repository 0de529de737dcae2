"""What an event means: the weight of each event type, which types count as liking and which
as negative feedback, and the context keys an event may carry.

Training (``Interactions.from_rows``), evaluation (``EvalDataset.load``), the page (the user's
history) and the live aggregates all read events through an :class:`EventPolicy`, so one rule
decides everywhere. A trained version records the weights it was trained with; the page reads
the history with those, not with whatever the settings say today.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from types import MappingProxyType

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


@dataclass(frozen=True)
class EventPolicy:
    """Event type → implicit-feedback weight. A positive weight is a sign of liking, a negative
    one negative feedback, zero (or a type the policy does not know) says nothing."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    _lookup: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup = dict(self.weights)
        object.__setattr__(self, "_lookup", lookup)
        object.__setattr__(self, "weights", MappingProxyType(lookup))

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
