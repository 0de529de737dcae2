"""The homepage of a user, and the popular list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from homefeed.domain import Identifier
from homefeed.errors import InvalidInputError
from homefeed.events import normalized
from homefeed.homepage.page import Homepage
from homefeed.homepage.query import PriceRange
from homefeed.models.context import RequestContext
from homefeed.service.access import UserAccess, require_user
from homefeed.service.deps import RuntimeDep
from homefeed.service.metrics import observe_page
from homefeed.service.runtime import Runtime
from homefeed.service.schemas import HomepageResponse, ItemList, SectionBody, scored_items

router = APIRouter(prefix="/v1", tags=["recommendations"], dependencies=[UserAccess])


def _check_n(n: int | None, runtime: Runtime) -> int:
    settings = runtime.settings
    if n is None:
        return settings.homepage_default_n
    if n > settings.homepage_max_n:
        raise InvalidInputError(f"n: at most {settings.homepage_max_n}, got {n}", field="n")
    return n


def _price_range(low: float | None, high: float | None) -> PriceRange | None:
    if low is None and high is None:
        return None
    if low is not None and high is not None and low > high:
        raise InvalidInputError(f"min_price: {low} is above max_price {high}", field="min_price")
    return PriceRange(low, high)


def _check_category(category: str | None, runtime: Runtime) -> str | None:
    if category is None:
        return None
    known = runtime.catalog.categories()
    if category not in known:
        raise InvalidInputError(
            f"category: unknown category {category!r}; expected one of {known}", field="category"
        )
    return category


@router.get(
    "/users/{user_id}/homepage",
    response_model=None,
    responses={200: {"model": HomepageResponse, "description": "The homepage."}},
)
async def homepage(
    request: Request,
    user_id: Annotated[Identifier, Path(description="The user's id; unknown users get popular items.")],
    runtime: RuntimeDep,
    n: Annotated[int | None, Query(ge=1, description="How many items (default from settings).")] = None,
    exclude: Annotated[
        list[str] | None, Query(description="Item ids not to show; repeat or comma-separate.")
    ] = None,
    category: Annotated[str | None, Query(description="Only items of this category.")] = None,
    min_price: Annotated[
        float | None, Query(ge=0, description='Only items priced at least this (attributes "price").')
    ] = None,
    max_price: Annotated[
        float | None, Query(ge=0, description='Only items priced at most this (attributes "price").')
    ] = None,
    flat: Annotated[bool, Query(description="One ranked list only, without sections.")] = False,
    explain: Annotated[
        bool, Query(description="Add each item's source score and rank, and the ranker's feature values.")
    ] = False,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    device: Annotated[
        str | None,
        Query(max_length=64, description="The client's device (e.g. mobile, desktop, tv): a ranker feature."),
    ] = None,
    surface: Annotated[
        str | None,
        Query(
            max_length=64, description="Where the page is shown (e.g. app-home, web-home): a ranker feature."
        ),
    ] = None,
) -> Response:
    """The user's personalized homepage: items they have not interacted with, best first, in
    titled sections, each item with its explanation. A user token reads only its own user's."""
    require_user(request, user_id)
    excluded = {part.strip() for value in exclude or [] for part in value.split(",") if part.strip()}
    size, chosen_category = _check_n(n, runtime), _check_category(category, runtime)
    context = RequestContext(device=normalized(device), surface=normalized(surface))
    price = _price_range(min_price, max_price)

    def build() -> bytes:
        if cursor is not None:
            page = runtime.homepages.next_page(
                cursor,
                user_id,
                size,
                excluded,
                chosen_category,
                context=context,
                explain=explain,
                price=price,
            )
        else:
            page = runtime.homepages.build(
                user_id, size, excluded, chosen_category, explain=explain, context=context, price=price
            )
        observe_page(page)
        return _homepage_json(page, flat, runtime.settings.media_url)

    # built in the page threads: its CPU work and store reads never hold the event loop that
    # answers /healthz and every other route
    return Response(content=await runtime.off_loop(build), media_type="application/json")


def _homepage_json(page: Homepage, flat: bool, media_url: str) -> bytes:
    """The page as the response body, serialised once by pydantic-core (FastAPI's
    response_model would validate it again)."""
    body = HomepageResponse(
        user_id=page.user_id,
        request_id=page.request_id,
        model_version=page.model_version,
        degraded=page.degraded,
        reasons=page.reasons,
        items=scored_items(page.items, media_url),
        sections=[]
        if flat
        else [
            SectionBody(key=section.key, title=section.title, item_ids=[i.item_id for i in section.items])
            for section in page.sections
        ],
        next_cursor=page.cursor,
        experiment=page.experiment,
        arm=page.arm,
        arms=page.arms,
    )
    return body.model_dump_json().encode()


@router.get("/popular", response_model=ItemList)
def popular(
    runtime: RuntimeDep,
    n: Annotated[int | None, Query(ge=1, description="How many items.")] = None,
    category: Annotated[str | None, Query(description="Only items of this category.")] = None,
) -> ItemList:
    """The most popular items, recent interactions counting more."""
    page = runtime.homepages.popular(_check_n(n, runtime), _check_category(category, runtime))
    return ItemList(
        items=scored_items(page.items, runtime.settings.media_url),
        model_version=page.model_version,
        degraded=page.degraded,
        reasons=page.reasons,
    )
