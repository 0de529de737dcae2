"""Who may call what. Admin keys may do everything; client keys (for a front end's back end) may
read homepages, recommendations and items, send events and mint user tokens; a user token may
read its own user's homepage, send that user's events and read the catalog. With no key
configured the API is open, as a service on 127.0.0.1 is by default; the health checks are
always open. Every identified caller is rate limited when HOMEFEED_ACCESS__RATE_LIMIT is set."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, params
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from homefeed.errors import HomefeedError
from homefeed.service.credentials import OPEN, Caller, Credentials, Role
from homefeed.service.rate import RateLimiter

# browsers answer a Basic challenge with a login prompt, so the web page works with a key too
CHALLENGES = ('Basic realm="homefeed"', 'Bearer realm="homefeed"')


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
        if not request.app.state.credentials.enabled:
            return None
        try:
            return await super().__call__(request)
        except HTTPException:
            raise NotAuthenticatedError(
                "the Authorization header's Basic credentials could not be read: send "
                "'Basic base64(user:key)', 'Bearer <key>' or the X-API-Key header"
            ) from None


_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An admin or client API key.")
_bearer = HTTPBearer(auto_error=False, description="An API key or a user token as a bearer token.")
_basic = _Basic(auto_error=False, description="Any user name, an API key as the password.")


def _requires(needed: Role) -> params.Depends:
    """A dependency that lets the request through when its caller's role is ``needed`` or
    above (a user token counts for client routes; the routes check whose data it asks for),
    and counts it against the rate limit."""

    async def check(  # async: a plain def would cost every request a thread-pool hop
        request: Request,
        header: Annotated[str | None, Security(_header)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        basic: Annotated[HTTPBasicCredentials | None, Security(_basic)],
    ) -> None:
        credentials: Credentials = request.app.state.credentials
        caller = OPEN
        if credentials.enabled:
            key = header or (bearer.credentials if bearer else None) or (basic.password if basic else None)
            if not key:
                raise NotAuthenticatedError(
                    "an API key or user token is required: send it in the X-API-Key header, as "
                    "'Authorization: Bearer <key>', or as the password of HTTP Basic authentication"
                )
            found = credentials.identify(key)
            if found is None:
                raise NotAuthenticatedError(
                    "the API key or token is not valid (revoked, expired or unknown): check it "
                    "against HOMEFEED_ACCESS__*_KEYS and `homefeed keys list`, or mint a new token"
                )
            caller = found
        if RANKS[caller.role] < RANKS[needed]:
            what = "token" if caller.role is Role.USER else "key"
            wanted = "an admin" if needed is Role.ADMIN else "a client"
            call = f"{request.method} {request.url.path}"
            raise ForbiddenError(f"a {caller.role} {what} may not call {call}: it needs {wanted} key")
        limiter: RateLimiter = request.app.state.rate_limiter
        address = request.client.host if request.client else "?"
        limiter.hit(caller.identity if caller is not OPEN else f"ip-{address}")
        request.state.caller = caller

    dependency: params.Depends = Depends(check)
    return dependency


RANKS = {Role.USER: 0, Role.CLIENT: 1, Role.ADMIN: 2}
UserAccess = _requires(Role.USER)
"""Homepages, recommendations, item reads and events: a client or admin key, or a user token
for that user's own homepage and events."""
ClientAccess = _requires(Role.CLIENT)
"""What a front end's back end does beyond one user: minting user tokens."""
AdminAccess = _requires(Role.ADMIN)
"""Everything else: an admin key."""


def caller_of(request: Request) -> Caller:
    """The caller the access check identified (open: an admin)."""
    caller: Caller = getattr(request.state, "caller", OPEN)
    return caller


def require_user(request: Request, user_id: str) -> None:
    """Refuse a user token that asks for another user's data (403)."""
    caller = caller_of(request)
    if not caller.may_act_as(user_id):
        raise ForbiddenError(f"this token is for user {caller.user_id!r}: it may not act as {user_id!r}")
