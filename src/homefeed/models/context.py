"""What a scoring request knows besides the user's history and profile: when it is made, on
which device and surface, and the user's stated interests as vectors.

Online the time is the request's clock and the device and surface come from the request;
offline (ranker training, evaluation) the context is that of the user's latest known event,
so no later event leaks into a feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from homefeed.events import normalized

DAY = 86_400.0


@dataclass(frozen=True)
class RequestContext:
    """The moment (epoch seconds, UTC), device and surface of a request; ``liked`` and
    ``disliked`` are unit text vectors of the stated interests' phrases (none: no interests)."""

    time: float | None = None
    device: str | None = None
    surface: str | None = None
    liked: np.ndarray | None = None  # [phrases, dimension]
    disliked: np.ndarray | None = None

    def value(self, key: str) -> str | None:
        """The request's value for a context key (``homefeed.events.CONTEXT_KEYS``), normalized
        as events store it."""
        return normalized(getattr(self, key))


def hour_bands(times: np.ndarray) -> np.ndarray:
    """The 3-hour band of the UTC day, 0-7, of each epoch-seconds time."""
    bands: np.ndarray = ((times % DAY) // 10_800).astype(np.int64)
    return bands


def weekdays(times: np.ndarray) -> np.ndarray:
    """Monday 0 to Sunday 6, UTC, of each time (1 January 1970 was a Thursday)."""
    days: np.ndarray = ((times // DAY + 3) % 7).astype(np.int64)
    return days
