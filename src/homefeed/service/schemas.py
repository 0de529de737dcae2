"""Request and response bodies of the HTTP API (the domain models serve as item/user bodies)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from homefeed.domain import Event, Item


class ItemBatch(BaseModel):
    items: list[Item] = Field(min_length=1, max_length=1000)


class ItemBatchResult(BaseModel):
    upserted: int


class EventBatch(BaseModel):
    events: list[Event] = Field(min_length=1, max_length=1000, description="Up to 1,000 events.")


class EventBatchResult(BaseModel):
    accepted: int = Field(description="Events stored by this call (durable when this answer arrives).")
    duplicates: int = Field(description="Events skipped because their event_id was already stored.")


class ScoredItem(BaseModel):
    item_id: str
    title: str
    category: str | None
    score: float
    source: str = Field(description="The candidate source that produced the item, e.g. als or popular.")
    reason: str = Field(description="Why the item is shown, in words.")


class HomepageResponse(BaseModel):
    user_id: str
    request_id: str
    model_version: str | None
    degraded: bool = Field(description="True when a fallback was used; see reasons.")
    reasons: list[str]
    items: list[ScoredItem]


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


class ReloadResult(BaseModel):
    model_version: str | None


class ErrorBody(BaseModel):
    message: str = Field(description="What went wrong, naming the field or id.")
    field: str | None = None
