"""User tokens: a front end's back end (a client or admin key) mints a short-lived token for one
user, and the browser or app uses it to read that user's homepage and send their events."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from homefeed.domain import Identifier
from homefeed.errors import InvalidInputError
from homefeed.service.access import ClientAccess
from homefeed.service.credentials import Credentials
from homefeed.service.deps import RuntimeDep

router = APIRouter(prefix="/v1", tags=["access"], dependencies=[ClientAccess])


class TokenRequest(BaseModel):
    user_id: Identifier
    ttl_seconds: float = Field(
        3600.0, gt=0, description="How long the token lives (at most the setting's maximum)."
    )


class TokenBody(BaseModel):
    token: str = Field(description="Send as 'Authorization: Bearer <token>'.")
    user_id: str
    expires_at: float = Field(description="Epoch seconds.")


@router.post("/tokens", response_model=TokenBody, status_code=201)
def mint_token(body: TokenRequest, request: Request, runtime: RuntimeDep) -> TokenBody:
    """A token for one user: it reads only that user's homepage and posts only their events
    (and reads the catalog). Signed by the newest signing secret (`homefeed keys rotate-signing`)."""
    longest = runtime.settings.access.token_max_seconds
    if body.ttl_seconds > longest:
        setting = "HOMEFEED_ACCESS__TOKEN_MAX_SECONDS"
        asked = body.ttl_seconds
        raise InvalidInputError(
            f"ttl_seconds: at most {longest:g} ({setting}), got {asked:g}", field="ttl_seconds"
        )
    credentials: Credentials = request.app.state.credentials
    token, expires = credentials.mint(body.user_id, body.ttl_seconds)
    return TokenBody(token=token, user_id=body.user_id, expires_at=expires)
