"""Catalog items: create or replace, read, delete, batch upsert, and similar items."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from homefeed.domain import Identifier, Item, ItemFields
from homefeed.errors import NotFoundError
from homefeed.service.access import AdminAccess, UserAccess
from homefeed.service.deps import RuntimeDep
from homefeed.service.schemas import ItemBatch, ItemBatchResult, ItemList, scored_items

router = APIRouter(prefix="/v1", tags=["items"])
ItemId = Annotated[Identifier, Path(description="The item's id.")]


@router.put("/items/{item_id}", response_model=Item, dependencies=[AdminAccess])
def put_item(item_id: ItemId, body: ItemFields, runtime: RuntimeDep) -> Item:
    """Create the item or replace all its fields."""
    item = Item(id=item_id, **body.model_dump())
    runtime.store.upsert_items([item])
    runtime.items_written([item])
    return item


@router.post("/items:batch", response_model=ItemBatchResult, dependencies=[AdminAccess])
def put_items(body: ItemBatch, runtime: RuntimeDep) -> ItemBatchResult:
    """Create or replace up to 1,000 items in one transaction."""
    unique = list({item.id: item for item in body.items}.values())
    runtime.store.upsert_items(unique)
    runtime.items_written(unique)
    return ItemBatchResult(upserted=len(unique))


@router.get("/items/{item_id}", response_model=Item, dependencies=[UserAccess])
def get_item(item_id: ItemId, runtime: RuntimeDep) -> Item:
    item = runtime.store.get_item(item_id)
    if item is None:
        raise NotFoundError(f"item {item_id!r} not found")
    return item


@router.delete("/items/{item_id}", status_code=204, dependencies=[AdminAccess])
def delete_item(item_id: ItemId, runtime: RuntimeDep) -> Response:
    """Remove the item from the catalog and forget it in every kept model version; it is no
    longer recommended."""
    if not runtime.delete_item(item_id):
        raise NotFoundError(f"item {item_id!r} not found")
    return Response(status_code=204)


@router.get("/items/{item_id}/similar", response_model=ItemList, dependencies=[UserAccess])
def similar_items(
    item_id: ItemId,
    runtime: RuntimeDep,
    n: Annotated[int, Query(ge=1, le=500, description="How many items.")] = 10,
    by: Annotated[
        Literal["auto", "behaviour", "text"],
        Query(
            description="behaviour: liked together (ALS); text: language-model similarity; "
            "auto: behaviour when the item has interactions, else text."
        ),
    ] = "auto",
) -> ItemList:
    """Items similar to this one, by behaviour or by text (new items have text only)."""
    if item_id not in runtime.catalog:
        raise NotFoundError(f"item {item_id!r} not found")
    similar = runtime.homepages.similar(item_id, n, by)
    return ItemList(
        items=scored_items(similar.items, runtime.settings.media_url),
        model_version=similar.model_version,
        degraded=similar.degraded,
        reasons=similar.reasons,
    )
