"""Behaviour in: batches of events, stored once each and durable before the answer."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from homefeed.errors import InvalidInputError
from homefeed.service.access import UserAccess, require_user
from homefeed.service.deps import RuntimeDep
from homefeed.service.metrics import observe_events
from homefeed.service.schemas import EventBatch, EventBatchResult

router = APIRouter(prefix="/v1", tags=["events"], dependencies=[UserAccess])


@router.post("/events", response_model=EventBatchResult)
def post_events(request: Request, body: EventBatch, runtime: RuntimeDep) -> EventBatchResult:
    """Store up to 1,000 events. Replaying a batch with the same event ids stores nothing twice.

    Unknown users are created; unknown items are refused with the list of their ids. A timestamp
    must lie within HOMEFEED_EVENT_MAX_AGE_DAYS before and HOMEFEED_EVENT_MAX_FUTURE_SECONDS
    after the server's clock (older history: `homefeed import`). A user token posts only its own
    user's events.
    """
    for user_id in {event.user_id for event in body.events}:
        require_user(request, user_id)
    settings = runtime.settings
    if len(body.events) > settings.max_events_per_batch:
        raise InvalidInputError(
            f"at most {settings.max_events_per_batch} events per batch, got {len(body.events)}",
            field="events",
        )
    window, now = settings.event_window(), time.time()
    for position, event in enumerate(body.events):
        if event.type not in settings.event_weights:
            raise InvalidInputError(
                f"events[{position}].type: unknown event type {event.type!r}; "
                f"expected one of {sorted(settings.event_weights)}",
                field=f"events.{position}.type",
            )
        problem = window.problem(event.timestamp, now)
        if problem is not None:
            raise InvalidInputError(
                f"events[{position}].timestamp: {problem}", field=f"events.{position}.timestamp"
            )
    missing = runtime.catalog.missing(event.item_id for event in body.events)
    if missing:  # maybe written by another process (an import) since this one started
        runtime.refresh_items(missing)
        missing = runtime.catalog.missing(missing)
    if missing:
        raise InvalidInputError(
            f"unknown item ids: {missing}; create them with PUT /v1/items/{{id}} first",
            field="events.item_id",
        )
    result = runtime.store.add_events(body.events)
    observe_events(result.accepted, result.duplicates)
    return EventBatchResult(accepted=result.accepted, duplicates=result.duplicates)
