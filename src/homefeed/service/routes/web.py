"""The web page: pick a user, see their homepage as cards, click one to send a click event."""

from __future__ import annotations

import time
import zlib
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from homefeed.domain import Label
from homefeed.models.context import RequestContext
from homefeed.service.access import AdminAccess
from homefeed.service.deps import RuntimeDep
from homefeed.service.schemas import image_url

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
router = APIRouter(include_in_schema=False, dependencies=[AdminAccess])
_SAMPLE_TTL = 60.0
WEB_SURFACE = "web"  # the surface of this page's homepages and of the events it sends
WEB_TOKEN_SECONDS = 3600.0  # the page's events go with a token for the user it shows
_sample_cache: dict[int, tuple[float, list[str]]] = {}


def _sample_users(runtime: RuntimeDep) -> list[str]:
    key = id(runtime)
    cached = _sample_cache.get(key)
    if cached is None or time.monotonic() - cached[0] > _SAMPLE_TTL:
        cached = (time.monotonic(), runtime.store.logs.sample_user_ids(30))
        _sample_cache[key] = cached
    return cached[1]


def device_of(user_agent: str) -> str:
    """The device a browser's User-Agent names, as the page's events report it."""
    return "mobile" if "Mobi" in user_agent else "desktop"


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    runtime: RuntimeDep,
    user: Annotated[Label | None, Query(description="User to show.")] = None,
) -> HTMLResponse:
    user_id = (user or "").strip() or None
    device = device_of(request.headers.get("user-agent", ""))
    context = RequestContext(device=device, surface=WEB_SURFACE)
    n = runtime.settings.homepage_default_n
    page = runtime.homepages.build(user_id, n, context=context) if user_id else None
    credentials = request.app.state.credentials
    token = credentials.mint(user_id, WEB_TOKEN_SECONDS)[0] if user_id and credentials.enabled else None
    return TEMPLATES.TemplateResponse(
        request,
        "index.html",
        {
            "user_id": user_id,
            "device": device,
            "page": page,
            "sample_users": _sample_users(runtime),
            "model_version": runtime.homepages.model_version,
            "token": token,
            "picture": lambda item: image_url(item.image, runtime.settings.media_url),
            "hue": lambda text: zlib.crc32(text.encode("utf-8")) % 360,
        },
    )
