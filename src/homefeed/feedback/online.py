"""Online metrics from the impression log: how many shown items were clicked (CTR) and bought
(CVR) within an attribution window, overall and per section, source, position, model version,
day or arm (experiments' own reports, with users as the unit, are in ``experiments``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from homefeed.config import Settings
from homefeed.store import Store

DIMENSIONS = ("section", "source", "position", "version", "day", "arm")


@dataclass(frozen=True)
class Outcome:
    """Impressions with one value of a dimension (``key``) and what followed them."""

    key: str
    users: int
    impressions: int
    clicked: int
    converted: int

    @property
    def ctr(self) -> float:
        return self.clicked / self.impressions if self.impressions else 0.0

    @property
    def cvr(self) -> float:
        return self.converted / self.impressions if self.impressions else 0.0


@dataclass(frozen=True)
class OnlineReport:
    by: str
    since: float | None
    window_hours: float
    click_types: list[str]
    conversion_types: list[str]
    total: Outcome
    rows: list[Outcome]


def online_report(
    store: Store, settings: Settings, by: str, since: float | None = None, window_hours: float | None = None
) -> OnlineReport:
    """CTR and CVR of every impression since ``since``, overall and per value of ``by``
    (positions from 0, days as ISO dates), in the dimension's natural order."""
    if by not in DIMENSIONS:
        raise ValueError(f"by: expected one of {list(DIMENSIONS)}, got {by!r}")
    hours = window_hours if window_hours is not None else settings.attribution_hours
    clicks, conversions = list(settings.click_types), list(settings.conversion_types)
    found = store.logs.outcomes_by(by, clicks, conversions, hours * 3600, since)
    ordered = sorted(found, key=lambda row: _order(by, row[0]))
    rows = [
        Outcome(_label(by, key), users, shown, clicked, converted)
        for key, users, shown, clicked, converted in ordered
    ]
    overall = Outcome(
        "all",
        store.logs.impression_users(since),
        sum(row.impressions for row in rows),
        sum(row.clicked for row in rows),
        sum(row.converted for row in rows),
    )
    return OnlineReport(by, since, hours, clicks, conversions, overall, rows)


def _order(by: str, key: str) -> tuple[float, str]:
    return (float(key), key) if by in ("position", "day") and key.lstrip("-").isdigit() else (0.0, key)


def _label(by: str, key: str) -> str:
    if by == "day" and key.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(key) * 86_400, UTC).date().isoformat()
    return key
