"""The request body's size, limited before it is read: a declared length over the limit is
answered 413 at once, and a body sent without one is cut off at the limit."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homefeed.service.errors import error_response


class BodySizeLimit:
    """ASGI middleware: at most ``max_bytes`` of request body per request."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            too_large = declared.isdigit()
            response = error_response(
                413 if too_large else 400,
                f"the body is {int(declared):,} bytes; at most {self.max_bytes:,} are accepted "
                "(HOMEFEED_MAX_BODY_BYTES; bulk data: `homefeed import`)"
                if too_large
                else "Content-Length is not a number",
                "body",
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # FastAPI passes an HTTPException from the body on
                    raise HTTPException(413, f"the body is over {self.max_bytes:,} bytes")
            return message

        await self.app(scope, limited, send)
