"""Page cursors: which first page a scroll belongs to, and what it has shown so far."""

from __future__ import annotations

import base64
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import redis

from homefeed.errors import InvalidInputError
from homefeed.live.scrolls import SharedPages

logger = logging.getLogger(__name__)
T = TypeVar("T")

SESSIONS = 20_000  # first pages whose shown items are remembered for their cursor
MAX_PAGES = 50  # request ids a cursor carries; a longer scroll is remembered in memory only


@dataclass(frozen=True)
class Cursor:
    """Where a scroll is: its user and the request ids of its pages so far, first page first
    (the first one names the scroll session)."""

    user_id: str
    pages: tuple[str, ...]

    @property
    def session(self) -> str:
        return self.pages[0]

    def after(self, request_id: str) -> Cursor:
        """The cursor for the page after this one, built by ``request_id``."""
        return Cursor(self.user_id, (*self.pages, request_id)[:MAX_PAGES])


def encode_cursor(cursor: Cursor) -> str:
    """Opaque to clients: base64url JSON of the user and the pages' request ids."""
    raw = json.dumps({"u": cursor.user_id, "r": list(cursor.pages)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        pages = [str(page) for page in data["r"]] if "r" in data else [str(data["s"])]  # stop 11's form
        if not pages:
            raise ValueError("no pages")
        return Cursor(str(data["u"]), tuple(pages))
    except (ValueError, KeyError, TypeError):
        raise InvalidInputError("cursor: not a cursor this API returned", field="cursor") from None


class ShownItems:
    """Per scroll session (the first page's request id), the items shown so far; the oldest
    sessions are forgotten first. Lives in one worker's memory; a cursor this worker does not
    know (another worker's, or from before a restart) is rebuilt from the impression log.
    With ``shared`` (Redis) every page's items are also kept for all workers, and a cursor is
    read from there first: any worker follows any cursor at once (``live.scrolls``)."""

    def __init__(
        self,
        sessions: int = SESSIONS,
        logged: Callable[[str, list[str]], list[str]] | None = None,
        shared: SharedPages | None = None,
    ) -> None:
        self.sessions = sessions
        self.logged = logged  # (user, request ids) -> items those pages showed, from the log
        self.shared = shared
        self._warned = False
        self._shown: OrderedDict[str, list[str]] = OrderedDict()
        self._owners: dict[str, str] = {}  # session -> its user, to forget a user's sessions

    def add(
        self, session: str, item_ids: list[str], user_id: str | None = None, request_id: str | None = None
    ) -> None:
        """Note a page of ``session`` (its first page's request id) built by ``request_id``
        (the session's own when it is the first page)."""
        if self.shared is not None and user_id is not None:
            self._sharing(lambda shared: shared.remember(user_id, request_id or session, item_ids))
        self._shown[session] = self._shown.pop(session, []) + item_ids
        if user_id is not None:
            self._owners[session] = user_id
        while len(self._shown) > self.sessions:
            gone, _ = self._shown.popitem(last=False)
            self._owners.pop(gone, None)

    def forget_user(self, user_id: str) -> None:
        """Drop every scroll session of ``user_id`` (a deleted user leaves nothing behind)."""
        if self.shared is not None:
            self._sharing(lambda shared: shared.forget_user(user_id))
        for session in [session for session, owner in self._owners.items() if owner == user_id]:
            self._shown.pop(session, None)
            self._owners.pop(session, None)

    def holds(self, user_id: str) -> bool:
        held = self.shared is not None and bool(self._sharing(lambda shared: shared.holds(user_id)))
        return held or user_id in self._owners.values()

    def of(self, encoded: str, user_id: str) -> tuple[Cursor, list[str]]:
        """The cursor and the items shown under it; a 422 for another user's cursor, or for one
        neither this worker nor the impression log knows."""
        cursor = decode_cursor(encoded)
        if cursor.user_id != user_id:
            raise InvalidInputError("cursor: it belongs to another user's scroll", field="cursor")
        shown = self._shown.get(cursor.session)
        if self.shared is not None:
            try:
                found = self.shared.shown(user_id, list(cursor.pages))
            except redis.RedisError as error:
                self._warn(error)
            else:
                # the workers' common word: pages it no longer holds (expired, or the user was
                # deleted through another worker) are not taken from this worker's memory, but
                # from the impression log; a scroll longer than the cursor names is kept here
                known = set(found or ())
                shown = None if found is None else found + [item for item in shown or () if item not in known]
        if shown is None and self.logged is not None:
            shown = self.logged(user_id, list(cursor.pages)) or None
            if shown is not None:
                self.add(cursor.session, shown, user_id)
        if shown is None:
            raise InvalidInputError(
                "cursor: unknown or expired (its pages are neither in this worker's memory nor in "
                "the impression log yet); request the first page again",
                field="cursor",
            )
        return cursor, shown

    def _sharing(self, call: Callable[[SharedPages], T]) -> T | None:
        """``call`` on the shared pages; None (and a warning, once) when Redis cannot answer."""
        assert self.shared is not None
        try:
            return call(self.shared)
        except redis.RedisError as error:
            self._warn(error)
            return None

    def _warn(self, error: Exception) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "scroll pages are not shared through Redis (%s): cursors read this worker's", error
            )
