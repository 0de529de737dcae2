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
    image_url: str | None = Field(
        None,
        description="The item's picture, ready for an <img>: its http(s) address, or its path "
        "in the media folder under HOMEFEED_MEDIA_URL (default /media, this service).",
    )
    creator: str | None = None
    published_at: float | None = Field(None, description="Epoch seconds.")
    price: float | None = Field(None, description='The item\'s attributes "price", where it has one.')


def image_url(image: str | None, media_url: str) -> str | None:
    """Where a front end fetches an item's picture: an address as given, a media path under
    ``media_url``."""
    if image is None or image.lower().startswith(("http://", "https://")):
        return image
    return f"{media_url.rstrip('/')}/{image}"


def scored_items(items: Sequence[HomepageItem], media_url: str = "/media") -> list[ScoredItem]:
    """Page items as response bodies; pictures named by path are fetched under ``media_url``."""
    return [
        ScoredItem(
            item_id=item.item_id,
            title=item.title,
            category=item.category,
            image_url=image_url(item.image, media_url),
            creator=item.creator,
            published_at=item.published_at,
            price=item.price,
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
    experiment: str | None = Field(None, description="The (first) A/B experiment running, if any.")
    arm: str | None = Field(None, description="The user's arm in it (stable per user).")
    arms: dict[str, str] = Field(
        default_factory=dict, description="Every running experiment -> the user's arm in it."
    )


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
    live_aggregates: bool = Field(
        True,
        description="The logs' live aggregates (trending, exposure) have been read once: a worker "
        "reads them as it starts, which takes seconds on a large log.",
    )
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


class ComparisonBody(BaseModel):
    """An arm's rate against the first arm's, with each user as one unit."""

    difference: float = Field(description="This arm's rate minus the first arm's.")
    relative: float | None = Field(description="The difference over the first arm's rate.")
    standard_error: float = Field(description="Of the difference, by the delta method over users.")
    p_value: float | None = Field(description="Two-sided, the delta method's z-test (None: too few users).")
    interval: tuple[float, float] = Field(description="The difference's (1 - alpha) interval, delta method.")
    bootstrap: tuple[float, float] | None = Field(description="The same interval by resampling users.")
    mde: float | None = Field(description="The absolute difference these arms detect with the power asked.")


class ArmReport(BaseModel):
    arm: str
    users: int
    impressions: int
    clicked: int = Field(description="Impressions followed by a click-type event on the item.")
    converted: int = Field(description="Impressions followed by a conversion-type event on the item.")
    ctr: float
    cvr: float = Field(description="Conversions per impression.")
    ctr_test: ComparisonBody | None = Field(description="CTR against the first arm (None for it).")
    cvr_test: ComparisonBody | None


class ExperimentReport(BaseModel):
    name: str
    status: str = Field(description="running or stopped.")
    started_at: float
    stopped_at: float | None
    window_hours: float
    click_types: list[str]
    conversion_types: list[str]
    alpha: float
    power: float
    arms: list[ArmReport]


class ExperimentBody(BaseModel):
    name: str
    status: str
    origin: str = Field(description="api (started at run time) or settings (HOMEFEED_EXPERIMENT).")
    started_at: float
    stopped_at: float | None
    arms: dict[str, Any] = Field(description="Arm -> weight, homepage overrides, model version.")
    users: int = Field(description="Users shown a page in the experiment so far.")


class PlanBody(BaseModel):
    baseline: float = Field(description="CTR of the recent impressions.")
    unit_variance: float = Field(description="Per-user variance of CTR (delta method).")
    users_seen: int
    users_per_arm: int | None = Field(description="Users each of two arms needs to detect `effect`.")
    effect: float | None = Field(description="The relative change to detect, as asked.")
    detectable: float | None = Field(description="The relative change the users seen detect in two arms.")


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


class ExposureBody(BaseModel):
    catalog: int = Field(description="Active items in the catalog.")
    shown: int = Field(description="Items shown at least once in the window.")
    impressions: int
    coverage: float = Field(description="Share of the active catalog shown at least once.")
    gini: float = Field(description="Inequality of impressions over the catalog: 0 equal, 1 concentrated.")
    top_share: float = Field(description="Share of impressions taken by the most shown 1 % of items.")


class DashboardBody(BaseModel):
    since: float
    window_hours: float = Field(description="The attribution window of clicks and conversions.")
    total: OutcomeBody
    by_day: list[OutcomeBody]
    by_section: list[OutcomeBody]
    by_source: list[OutcomeBody]
    by_arm: list[OutcomeBody]
    exposure: ExposureBody
    events_per_minute: list[tuple[float, int]] = Field(description="(minute start, events), oldest first.")
    versions: list[VersionBody]
    experiments: list[dict[str, Any]]


class GroupExposureBody(BaseModel):
    group: str = Field(description='The category or creator ("" for items without one).')
    items: int = Field(description="Active items of the group in the catalog.")
    shown_items: int = Field(description="Of them, shown at least once in the window.")
    impressions: int
    catalog_share: float
    exposure_share: float
    ratio: float | None = Field(description="Exposure share over catalog share: 1 is in proportion.")


class FairnessBody(BaseModel):
    by: str
    since: float
    impressions: int
    gini: float = Field(
        description="Of the groups' impressions per catalog item: 0 when each is shown as its size."
    )
    groups: list[GroupExposureBody]
