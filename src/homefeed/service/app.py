"""``create_app(settings)``: the FastAPI application with its routes and error handling."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from homefeed import __version__
from homefeed.config import Settings
from homefeed.errors import HomefeedError, InvalidInputError, NotFoundError
from homefeed.service.access import CHALLENGES, ForbiddenError, NotAuthenticatedError
from homefeed.service.routes import (
    events,
    experiments,
    health,
    items,
    promotions,
    recommendations,
    users,
    web,
)
from homefeed.service.runtime import Runtime

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    location = [str(part) for part in error.get("loc", ())]
    field = ".".join(location[1:] if location and location[0] in {"body", "query", "path"} else location)
    return field or "body", f"{'.'.join(location) or 'body'}: {error.get('msg', 'invalid')}"


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. A runtime may be handed in (tests); otherwise it starts with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        app.state.runtime = runtime or Runtime.start(settings)
        try:
            yield
        finally:
            if owned:
                app.state.runtime.close()

    app = FastAPI(
        title="homefeed",
        version=__version__,
        description="Personalized homepages from behaviour data. Items, users and events in; "
        "ranked, explained homepages out.",
        lifespan=lifespan,
    )
    if runtime is not None:
        app.state.runtime = runtime
    app.state.access = settings.access
    if not settings.access.enabled and settings.host not in LOOPBACK:
        logger.warning(
            "no API key is configured and the service binds %s: anyone who can reach it may write, "
            "delete and export data; set HOMEFEED_ACCESS__ADMIN_KEYS (docs: README, Access)",
            settings.host,
        )

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = list(error.errors())
        field, message = _describe(details[0]) if details else ("body", "invalid request")
        if len(details) > 1:
            message += f" (and {len(details) - 1} more problem(s), see detail)"
        body = {
            "message": message,
            "field": field,
            "detail": jsonable_encoder(details, exclude={"url", "ctx"}),
        }
        return JSONResponse(status_code=422, content=body)

    @app.exception_handler(NotFoundError)
    async def on_not_found(_request: Request, error: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"message": str(error)})

    @app.exception_handler(InvalidInputError)
    async def on_invalid(_request: Request, error: InvalidInputError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"message": str(error), "field": error.field})

    @app.exception_handler(NotAuthenticatedError)
    async def on_not_authenticated(_request: Request, error: NotAuthenticatedError) -> JSONResponse:
        response = JSONResponse(status_code=401, content={"message": str(error)})
        for challenge in CHALLENGES:  # one header each: browsers skip a list naming Bearer first
            response.headers.append("WWW-Authenticate", challenge)
        return response

    @app.exception_handler(ForbiddenError)
    async def on_forbidden(_request: Request, error: ForbiddenError) -> JSONResponse:
        return JSONResponse(status_code=403, content={"message": str(error)})

    @app.exception_handler(HomefeedError)
    async def on_homefeed_error(_request: Request, error: HomefeedError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"message": str(error)})

    for module in (items, users, events, recommendations, promotions, experiments, health, web):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and multi-worker serving: settings from HOMEFEED_*."""
    return create_app(Settings())
