"""API keys: who may call what. Admin keys may do everything; client keys (for a front end) may
read homepages, recommendations and items and send events. With no key configured the API is
open, as a service on 127.0.0.1 is by default; the health checks are always open."""

from __future__ import annotations

import hmac
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, params
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from homefeed.config import AccessSettings
from homefeed.errors import HomefeedError

# browsers answer a Basic challenge with a login prompt, so the web page works with a key too
CHALLENGES = ('Basic realm="homefeed"', 'Bearer realm="homefeed"')


class Role(StrEnum):
    CLIENT = "client"
    ADMIN = "admin"


class NotAuthenticatedError(HomefeedError):
    """No API key, or one that is not configured (HTTP 401)."""

    code = "not_authenticated"


class ForbiddenError(HomefeedError):
    """A valid key whose role may not make this call (HTTP 403)."""

    code = "forbidden"


class _Basic(HTTPBasic):
    """HTTP Basic that is read only when keys are configured, and whose malformed header is a
    401 in the API's own error shape (FastAPI's raises its own 401 even when keys are off)."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:  # type: ignore[override]
        if not request.app.state.access.enabled:
            return None
        try:
            return await super().__call__(request)
        except HTTPException:
            raise NotAuthenticatedError(
                "the Authorization header's Basic credentials could not be read: send "
                "'Basic base64(user:key)', 'Bearer <key>' or the X-API-Key header"
            ) from None


_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An admin or client API key.")
_bearer = HTTPBearer(auto_error=False, description="An API key as a bearer token.")
_basic = _Basic(auto_error=False, description="Any user name, an API key as the password.")


def role_of(key: str, access: AccessSettings) -> Role | None:
    """The role of ``key``; every configured key is compared in constant time."""
    presented = key.encode()
    found: Role | None = None
    for role, keys in ((Role.CLIENT, access.client_keys), (Role.ADMIN, access.admin_keys)):
        for secret in keys:
            if hmac.compare_digest(secret.get_secret_value().encode(), presented):
                found = role  # no early return: the time taken does not tell which key matched
    return found


def _requires(needed: Role) -> params.Depends:
    """A dependency that lets the request through when its key's role is ``needed`` or admin."""

    async def check(  # async: a plain def would cost every request a thread-pool hop
        request: Request,
        header: Annotated[str | None, Security(_header)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        basic: Annotated[HTTPBasicCredentials | None, Security(_basic)],
    ) -> None:
        access: AccessSettings = request.app.state.access
        if not access.enabled:
            return
        key = header or (bearer.credentials if bearer else None) or (basic.password if basic else None)
        if not key:
            raise NotAuthenticatedError(
                "an API key is required: send it in the X-API-Key header, as "
                "'Authorization: Bearer <key>', or as the password of HTTP Basic authentication"
            )
        role = role_of(key, access)
        if role is None:
            raise NotAuthenticatedError("the API key is not valid: check it against HOMEFEED_ACCESS__*_KEYS")
        if needed is Role.ADMIN and role is not Role.ADMIN:
            raise ForbiddenError(
                f"a {role} key may not call {request.method} {request.url.path}: it needs an admin key"
            )

    dependency: params.Depends = Depends(check)
    return dependency


ClientAccess = _requires(Role.CLIENT)
"""Homepages, recommendations, item reads and events: a client or an admin key."""
AdminAccess = _requires(Role.ADMIN)
"""Everything else: an admin key."""
