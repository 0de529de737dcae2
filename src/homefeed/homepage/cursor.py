"""Page cursors: which first page a scroll belongs to, and what it has shown so far."""

from __future__ import annotations

import base64
import json
from collections import OrderedDict

from homefeed.errors import InvalidInputError

SESSIONS = 20_000  # first pages whose shown items are remembered for their cursor


def encode_cursor(session: str, user_id: str) -> str:
    """An opaque cursor: the first page's request id and the user, base64url."""
    raw = json.dumps({"s": session, "u": user_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        return str(data["s"]), str(data["u"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInputError("cursor: not a cursor this API returned", field="cursor") from None


class ShownItems:
    """Per scroll session (the first page's request id), the items shown so far; the oldest
    sessions are forgotten first. Lives in one worker's memory."""

    def __init__(self, sessions: int = SESSIONS) -> None:
        self.sessions = sessions
        self._shown: OrderedDict[str, list[str]] = OrderedDict()

    def add(self, session: str, item_ids: list[str]) -> None:
        self._shown[session] = self._shown.pop(session, []) + item_ids
        while len(self._shown) > self.sessions:
            self._shown.popitem(last=False)

    def of(self, cursor: str, user_id: str) -> tuple[str, list[str]]:
        """The session and its shown items; a 422 for a cursor unknown here or another user's."""
        session, user = decode_cursor(cursor)
        shown = self._shown.get(session)
        if shown is None or user != user_id:
            raise InvalidInputError(
                "cursor: unknown or expired (cursors live in one worker's memory for a while); "
                "request the first page again",
                field="cursor",
            )
        return session, shown
