"""Who is calling: API keys from the settings and from the store, and short-lived signed user
tokens. Keys and signing secrets made at run time (``homefeed keys``) are re-read from the store
every few seconds by each worker, so they are added, rotated and revoked without a restart.

A user token is a JWT (HS256) naming one user (``sub``) with an expiry, signed by the newest
active signing secret and checked against every active one (``kid`` names it): it lets a browser
or an app read that user's homepage and send that user's events, nothing else.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from enum import StrEnum

import jwt

from homefeed.config import AccessSettings
from homefeed.store import Store
from homefeed.store import credentials as stored

AUDIENCE = "homefeed-user"
REFRESH_SECONDS = 5.0


class Role(StrEnum):
    USER = "user"
    CLIENT = "client"
    ADMIN = "admin"


@dataclass(frozen=True)
class Caller:
    """The caller of one request: a role, the user a token is for (None for keys) and what
    rate limits count by."""

    role: Role
    user_id: str | None = None
    identity: str = "open"

    def may_act_as(self, user_id: str) -> bool:
        return self.user_id is None or self.user_id == user_id


OPEN = Caller(Role.ADMIN)  # no key configured anywhere: everything is open


class Credentials:
    def __init__(self, access: AccessSettings, store: Store | None = None) -> None:
        self.access, self.store = access, store
        self._rows: list[stored.Credential] = []
        self._loaded = float("-inf")
        self._lock = threading.Lock()

    def _active(self) -> list[stored.Credential]:
        if self.store is None:
            return []
        if time.monotonic() - self._loaded > REFRESH_SECONDS:
            with self._lock:
                if time.monotonic() - self._loaded > REFRESH_SECONDS:
                    self._rows = stored.every(self.store.engine, active_only=True)
                    self._loaded = time.monotonic()
        return self._rows

    def forget(self) -> None:
        """Read the store again at the next request (after a key was made or revoked here)."""
        self._loaded = float("-inf")

    @property
    def enabled(self) -> bool:
        """Whether any key exists: with none, the API is open."""
        return self.access.enabled or any(row.kind != "signing" for row in self._active())

    def identify(self, presented: str) -> Caller | None:
        """The caller a key or user token names (None: neither is valid). Keys are compared in
        constant time, all of them, so the time taken does not tell which one matched."""
        if presented.count(".") == 2:
            return self._token(presented)
        found: Caller | None = None
        given = presented.encode()
        for role, keys in ((Role.CLIENT, self.access.client_keys), (Role.ADMIN, self.access.admin_keys)):
            for number, secret in enumerate(keys):
                if hmac.compare_digest(secret.get_secret_value().encode(), given):
                    found = Caller(role, identity=f"{role}-setting-{number}")
        hashed = stored.digest(presented).encode()
        for row in self._active():
            if row.kind != "signing" and hmac.compare_digest(row.secret.encode(), hashed):
                found = Caller(Role(row.kind), identity=f"key-{row.id}")
        return found

    def _token(self, token: str) -> Caller | None:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        signing = (row for row in self._active() if row.kind == "signing" and row.id == kid)
        secret = next((row.secret for row in signing), None)
        if secret is None:
            return None
        try:
            claims = jwt.decode(
                token, secret, algorithms=["HS256"], audience=AUDIENCE, options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError:
            return None
        user = str(claims["sub"])
        return Caller(Role.USER, user, identity=f"user-{user}")

    def mint(self, user_id: str, ttl_seconds: float) -> tuple[str, float]:
        """A token for ``user_id`` valid ``ttl_seconds``, signed by the newest signing secret
        (one is made the first time)."""
        signing = [row for row in self._active() if row.kind == "signing"]
        if not signing:
            if self.store is None:
                raise RuntimeError("user tokens need the store to keep their signing secret")
            stored.create(self.store.engine, "signing", "made for the first user token")
            self.forget()
            signing = [row for row in self._active() if row.kind == "signing"]
        newest = signing[-1]
        expires = int(time.time() + ttl_seconds)
        claims = {"sub": user_id, "aud": AUDIENCE, "exp": expires, "iat": int(time.time())}
        token = jwt.encode(claims, newest.secret, algorithm="HS256", headers={"kid": newest.id})
        return token, float(expires)
