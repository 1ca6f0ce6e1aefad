"""Signed session tokens (HMAC-SHA256) and the CSRF token derived from them. A token carries
the user's session version; interfaces/sessions.py checks it against the store (revocation)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from functools import lru_cache
from uuid import UUID

from application.access import Actor
from domain.errors import NotAuthenticated

MAX_TOKEN_LENGTH = 2048


def same_secret(sent: str, expected: str) -> bool:
    """Constant-time comparison of any text a client sent (non-ASCII included) with a secret."""
    return hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: str, lifetime_seconds: float) -> None:
        self._key = hashlib.sha256(("session:" + secret).encode()).digest()
        self._csrf_key = hashlib.sha256(("csrf:" + secret).encode()).digest()
        self.lifetime = lifetime_seconds
        # The same bytes always verify the same way: remember recent tokens' claims so a busy
        # client is not re-hashed and re-parsed on every request. Expiry is still checked.
        self._claims = lru_cache(maxsize=4096)(self._verified_claims)

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(self, actor: Actor, version: int = 0) -> str:
        claims = {
            "sub": str(actor.user_id),
            "role": actor.role,
            "name": actor.display_name,
            "exp": int(time.time() + self.lifetime),
            "ver": version,  # the user's session version: see interfaces/sessions.py
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str) -> Actor:
        return self.verify_with_version(token)[0]

    def verify_with_version(self, token: str) -> tuple[Actor, int]:
        """The caller and the session version the token was issued at (signature and expiry
        checked here; the version against the store by SessionVersions)."""
        actor, expires, version = self._claims(token)
        if expires < time.time():
            raise NotAuthenticated("session expired; please log in again")
        return actor, version

    def _verified_claims(self, token: str) -> tuple[Actor, float, int]:
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii():  # compare_digest refuses non-ASCII text
            raise NotAuthenticated("invalid session; please log in again")
        body, _, signature = token.partition(".")
        if not body or not same_secret(signature, self._sign(body)):
            raise NotAuthenticated("invalid session; please log in again")
        try:
            claims = json.loads(_unb64(body))
            actor = Actor(UUID(claims["sub"]), str(claims["role"]), str(claims.get("name", "")))
            return actor, float(claims["exp"]), int(claims.get("ver", 0))
        except (ValueError, KeyError, TypeError):
            raise NotAuthenticated("invalid session; please log in again") from None

    def csrf_for(self, token: str) -> str:
        return _b64(hmac.new(self._csrf_key, token.encode(), hashlib.sha256).digest()[:18])
