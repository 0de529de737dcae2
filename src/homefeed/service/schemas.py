"""Request and response bodies of the HTTP API (the domain models serve as item/user bodies)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from homefeed.domain import Event, Item
from homefeed.homepage.page import HomepageItem


class ItemBatch(BaseModel):
    items: list[Item] = Field(min_length=1, max_length=1000)


class ItemBatchResult(BaseModel):
    upserted: int


class EventBatch(BaseModel):
    events: list[Event] = Field(min_length=1, max_length=1000, description="Up to 1,000 events.")


class EventBatchResult(BaseModel):
    accepted: int = Field(description="Events stored by this call (durable when this answer arrives).")
    duplicates: int = Field(description="Events skipped because their event_id was already stored.")


class ExplanationBody(BaseModel):
    type: str = Field(description="history, interest, profile, popularity, fresh or similar.")
    text: str = Field(description="The explanation a person reads.")
    evidence: list[str] = Field(
        description="What it rests on: item ids from the user's history, phrases of their stated "
        "interests, or profile groups."
    )


class ScoredItem(BaseModel):
    item_id: str
    title: str
    category: str | None
    score: float
    source: str = Field(description="The candidate source that produced the item, e.g. als or popular.")
    reason: str = Field(description="Why the item is shown, in words.")
    explanation: ExplanationBody
    details: dict[str, float] | None = Field(
        None, description="With explain=true: the source's score and rank, and the ranker's feature values."
    )


def scored_items(items: Sequence[HomepageItem]) -> list[ScoredItem]:
    """Page items as response bodies."""
    return [
        ScoredItem(
            item_id=item.item_id,
            title=item.title,
            category=item.category,
            score=item.score,
            source=item.source,
            reason=item.reason,
            explanation=ExplanationBody(
                type=item.explanation.type,
                text=item.explanation.text,
                evidence=list(item.explanation.evidence),
            ),
            details=dict(item.details) if item.details else None,
        )
        for item in items
    ]


class SectionBody(BaseModel):
    key: str = Field(description="Stable id of the row, e.g. top-picks or because:<item id>.")
    title: str
    item_ids: list[str] = Field(description="The row's items, in page order (details in `items`).")


class HomepageResponse(BaseModel):
    user_id: str
    request_id: str
    model_version: str | None
    degraded: bool = Field(description="True when a fallback was used; see reasons.")
    reasons: list[str]
    items: list[ScoredItem] = Field(description="The whole page as one ranked list.")
    sections: list[SectionBody] = Field(
        default_factory=list, description="The page's rows with titles (empty with flat=true)."
    )
    next_cursor: str | None = Field(
        None, description="Pass as ?cursor= for the next page: no item already shown comes again."
    )
    experiment: str | None = Field(None, description="The A/B experiment running, if any.")
    arm: str | None = Field(None, description="The user's arm in it (stable per user).")


class ItemList(BaseModel):
    items: list[ScoredItem]
    model_version: str | None
    degraded: bool = False
    reasons: list[str] = Field(default_factory=list)


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    store: bool
    model_version: str | None
    items: int
    degradations: list[str] = Field(
        default_factory=list,
        description="Parts that are off or stale (a text index, a quarantined version), and why.",
    )


class QuarantinedVersion(BaseModel):
    version: str
    reason: str


class ReloadResult(BaseModel):
    model_version: str | None = Field(description="The version served after the reload.")
    quarantined: list[QuarantinedVersion] = Field(
        default_factory=list, description="Newer versions that failed to load, set aside with the reason."
    )


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer has this shape."""

    message: str = Field(description="What went wrong, naming the field or id.")
    field: str | None = Field(None, description="The input it is about, e.g. events.3.timestamp.")
    code: str = Field(
        description="Stable identifier to branch on: invalid_input, not_found, not_authenticated, "
        "forbidden, too_large, conflict, unavailable, internal_error, ..."
    )
    detail: Any = Field(None, description="More about the problem (validation: every failed rule).")


class ArmReport(BaseModel):
    arm: str
    users: int
    impressions: int
    clicked: int = Field(description="Impressions followed by a click-type event on the item.")
    converted: int = Field(description="Impressions followed by a conversion-type event on the item.")
    ctr: float
    cvr: float = Field(description="Conversions per impression.")
    ctr_p_value: float | None = Field(description="Two-sided p-value of the CTR against the first arm.")
    cvr_p_value: float | None


class ExperimentReport(BaseModel):
    experiment: str
    window_hours: float
    click_types: list[str]
    conversion_types: list[str]
    arms: list[ArmReport]


class VersionBody(BaseModel):
    version: str
    status: str = Field(description="serving, pinned (and serving), kept, rejected (gate), quarantined.")
    created_at: float | None
    models: list[str]
    users: int | None
    items: int | None
    events: int | None
    train_seconds: float | None
    size_bytes: int
    reason: str | None = Field(None, description="Why a quarantined or rejected version was set aside.")
    gate: dict[str, Any] | None = Field(
        None,
        description="The quality gate's verdict: status, reason, metric, margin, test users, the "
        "version compared with, and per model the new and the serving version's figures.",
    )


class PinBody(BaseModel):
    version: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")


class VersionChange(BaseModel):
    pinned: str | None = Field(description="The version pinned now (None: the newest serves).")
    model_version: str | None = Field(description="What this worker serves after the change.")


class OutcomeBody(BaseModel):
    key: str = Field(description="The section, source, position, version, day or arm (all: the total).")
    users: int
    impressions: int
    clicked: int = Field(description="Impressions followed by a click-type event on the item.")
    converted: int = Field(description="Impressions followed by a conversion-type event on the item.")
    ctr: float
    cvr: float


class OnlineMetrics(BaseModel):
    by: str
    since: float
    window_hours: float
    click_types: list[str]
    conversion_types: list[str]
    total: OutcomeBody
    rows: list[OutcomeBody]


class TrainingRunBody(BaseModel):
    id: str
    trigger: str = Field(description="manual (homefeed train) or scheduled.")
    status: str = Field(description="running, succeeded or failed.")
    started_at: float
    finished_at: float | None
    seconds: float | None
    version: str | None = Field(description="The version it wrote (when it succeeded).")
    events: int | None
    data_from: float | None = Field(description="The oldest event trained on.")
    data_to: float | None = Field(description="The newest event trained on.")
    error: str | None
