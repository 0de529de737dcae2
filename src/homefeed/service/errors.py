"""One error shape for every 4xx and 5xx answer: ``message`` (what is wrong, in words),
``field`` (the input it is about, when there is one) and a stable ``code``; the framework's
own answers (404, 405, 400, validation) are rewritten into it."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from homefeed.errors import (
    HomefeedError,
    InvalidInputError,
    ModelNotTrainedError,
    NotFoundError,
    TooLargeError,
    UnavailableError,
)
from homefeed.service.access import CHALLENGES, ForbiddenError, NotAuthenticatedError
from homefeed.service.rate import RateLimitedError
from homefeed.service.schemas import ErrorBody

logger = logging.getLogger(__name__)

STATUS: dict[type[HomefeedError], int] = {  # the most specific class found in an error's MRO wins
    NotFoundError: 404,
    InvalidInputError: 422,
    NotAuthenticatedError: 401,
    ForbiddenError: 403,
    TooLargeError: 413,
    RateLimitedError: 429,
    UnavailableError: 503,
    ModelNotTrainedError: 409,
    HomefeedError: 409,
}
CODE_OF_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "The request could not be read."),
        (401, "No API key, or one that is not valid."),
        (403, "The key's role may not make this call."),
        (404, "No such item, user or route."),
        (409, "A conflict with the current state (a pinned version, a run holding the lock, ...)."),
        (413, "The request body or one of its fields is too large."),
        (422, "A field breaks a rule; `field` names it."),
        (429, "Too many requests from this caller; Retry-After says when to try again."),
        (500, "An unexpected fault (logged); `code` is internal_error."),
        (503, "The store or a model is not available now; try again."),
    )
}


def error_response(
    status: int, message: str, field: str | None = None, code: str | None = None, **extra: Any
) -> JSONResponse:
    """An answer in the one error shape (``code`` defaults to the status's)."""
    code = code or CODE_OF_STATUS.get(status, f"http_{status}")
    content = {**ErrorBody(message=message, field=field, code=code).model_dump(), **extra}
    return JSONResponse(status_code=status, content=jsonable_encoder(content))


def status_of(error: HomefeedError) -> int:
    return next(STATUS[kind] for kind in type(error).__mro__ if kind in STATUS)


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    location = [str(part) for part in error.get("loc", ())]
    field = ".".join(location[1:] if location and location[0] in {"body", "query", "path"} else location)
    return field or "body", f"{'.'.join(location) or 'body'}: {error.get('msg', 'invalid')}"


def install_error_handlers(app: FastAPI) -> None:
    """Route every error the app can raise through the one shape."""

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        details = list(error.errors())
        field, message = _describe(details[0]) if details else ("body", "invalid request")
        if details and details[0].get("type") == "json_invalid":
            return error_response(422, f"the body is not valid JSON: {message}", "body", "invalid_json")
        if len(details) > 1:
            message += f" (and {len(details) - 1} more problem(s), see detail)"
        detail = jsonable_encoder(details, exclude={"url", "ctx", "input"})
        return error_response(422, message, field, detail=detail)

    @app.exception_handler(HomefeedError)
    async def on_homefeed_error(_request: Request, error: HomefeedError) -> JSONResponse:
        status = status_of(error)
        response = error_response(status, str(error), getattr(error, "field", None), error.code)
        if status == 401:
            for challenge in CHALLENGES:  # one header each: browsers skip a list naming Bearer first
                response.headers.append("WWW-Authenticate", challenge)
        if isinstance(error, RateLimitedError):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        status = error.status_code
        if status == 404:
            message = f"no route {request.method} {request.url.path}; the routes are listed at /docs"
        elif status == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(error.detail)
        response = error_response(status, message)
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(sa.exc.OperationalError)
    async def on_store_unavailable(request: Request, error: sa.exc.OperationalError) -> JSONResponse:
        # the database is away, or (SQLite) its write lock was not free within the busy timeout
        logger.warning("the store could not answer %s %s: %s", request.method, request.url.path, error.orig)
        response = error_response(
            503, "the store is busy or unreachable; nothing was written, try again", code="store_unavailable"
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500, f"an unexpected error ({type(error).__name__}); it is logged with its traceback"
        )
