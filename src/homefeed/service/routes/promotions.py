"""Promotions: the business pins an item to a homepage slot for a time window."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from homefeed.domain import Identifier, Promotion, PromotionFields
from homefeed.errors import InvalidInputError, NotFoundError
from homefeed.service.access import AdminAccess
from homefeed.service.deps import RuntimeDep

router = APIRouter(prefix="/v1/admin", tags=["operations"], dependencies=[AdminAccess])
PromotionId = Annotated[Identifier, Path(description="The promotion's id.")]


@router.put("/promotions/{promotion_id}", response_model=Promotion)
def put_promotion(promotion_id: PromotionId, body: PromotionFields, runtime: RuntimeDep) -> Promotion:
    """Create or replace a promotion; it shows on every homepage it fits, from the next request."""
    if body.item_id not in runtime.catalog:
        raise InvalidInputError(f"item_id: unknown item {body.item_id!r}", field="item_id")
    promotion = Promotion(id=promotion_id, **body.model_dump())
    runtime.store.upsert_promotion(promotion)
    runtime.homepages.load_promotions()
    return promotion


@router.get("/promotions", response_model=list[Promotion])
def list_promotions(runtime: RuntimeDep) -> list[Promotion]:
    """Every promotion, active or not, by position."""
    return runtime.store.list_promotions()


@router.delete("/promotions/{promotion_id}", status_code=204)
def delete_promotion(promotion_id: PromotionId, runtime: RuntimeDep) -> Response:
    if not runtime.store.delete_promotion(promotion_id):
        raise NotFoundError(f"promotion {promotion_id!r} not found")
    runtime.homepages.load_promotions()
    return Response(status_code=204)
