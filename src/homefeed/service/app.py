"""``create_app(settings)``: the FastAPI application with its routes and error handling."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from homefeed import __version__
from homefeed.config import Settings, load_settings
from homefeed.errors import ConfigurationError
from homefeed.service.credentials import Credentials
from homefeed.service.errors import ERROR_RESPONSES, install_error_handlers
from homefeed.service.headers import SecurityHeaders
from homefeed.service.limits import BodySizeLimit
from homefeed.service.metrics import install_metrics
from homefeed.service.rate import RateLimiter
from homefeed.service.routes import (
    dashboard,
    events,
    experiments,
    health,
    items,
    online,
    promotions,
    recommendations,
    tokens,
    users,
    versions,
    web,
)
from homefeed.service.runtime import Runtime

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. A runtime may be handed in (tests); otherwise it starts with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        app.state.runtime = runtime or Runtime.start(settings)
        app.state.credentials.store = app.state.runtime.store  # keys made with `homefeed keys`
        served = app.state.runtime.homepages.model_version or "none yet (live popularity)"
        logger.info(
            "homefeed is serving on http://%s:%s/ (API docs at /docs); model version: %s",
            settings.host,
            settings.port,
            served,
        )
        try:
            yield
        finally:
            if owned:
                app.state.runtime.close()

    # the interactive docs (/docs, /redoc) load Swagger UI and ReDoc from the package's own
    # static files: a machine without internet shows them too (FastAPI's default uses a CDN)
    app = FastAPIOffline(
        title="homefeed",
        version=__version__,
        description="Personalized homepages from behaviour data. Items, users and events in; "
        "ranked, explained homepages out.",
        lifespan=lifespan,
    )
    if runtime is not None:
        app.state.runtime = runtime
    app.state.credentials = Credentials(settings.access, runtime.store if runtime is not None else None)
    app.state.rate_limiter = RateLimiter(settings.access.rate_limit, settings.redis_url)
    if not settings.access.enabled and settings.host not in LOOPBACK:
        logger.warning(
            "no API key is configured and the service binds %s: anyone who can reach it may write, "
            "delete and export data; set HOMEFEED_ACCESS__ADMIN_KEYS (docs: README, Access)",
            settings.host,
        )

    install_error_handlers(app)
    install_metrics(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if settings.access.cors_origins:  # outermost: a preflight is answered before anything else
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.access.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            max_age=600,
        )
    routers = [items, users, events, recommendations, promotions, experiments, online, versions, dashboard]
    routers += [tokens, health]
    for module in routers:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(web.router)
    app.include_router(dashboard.page_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if settings.media_dir is not None and not settings.media_dir.is_dir():
        raise ConfigurationError(f"media_dir {settings.media_dir} is not a folder")
    if (media := settings.effective_media_dir) is not None:  # item pictures (StaticFiles refuses ../)
        app.mount("/media", StaticFiles(directory=media), name="media")
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and multi-worker serving: settings from HOMEFEED_*."""
    return create_app(load_settings())
