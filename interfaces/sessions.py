"""Revocation: a session token is valid only while it carries its user's current session
version (domain/users.py), which logout, a password change and disabling the user move on.

The version lives in the event store, so a logout on one server process ends the session on
all of them. Each process remembers a user's version for at most `ttl` seconds (default 2 s,
SMART_EXAM_SESSION_CHECK_SECONDS): that bounds how long another process may still accept a
revoked token, while a busy client costs one store read per user per `ttl`, not per request.
The process that handled the logout forgets its copy at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from uuid import UUID

from application.access import Actor
from domain.errors import NotAuthenticated

MAX_REMEMBERED = 20_000


class SessionVersions:
    def __init__(self, lookup: Callable[[UUID], int | None], ttl: float = 2.0) -> None:
        self.lookup = lookup
        self.ttl = ttl
        self._known: dict[UUID, tuple[int | None, float]] = {}
        self._lock = threading.Lock()

    def current(self, user_id: UUID) -> int | None:
        now = time.monotonic()
        known = self._known.get(user_id)
        if known is not None and now - known[1] < self.ttl:
            return known[0]
        version = self.lookup(user_id)
        with self._lock:
            if len(self._known) >= MAX_REMEMBERED:
                self._known.clear()
            self._known[user_id] = (version, now)
        return version

    def require(self, actor: Actor, version: int) -> None:
        current = self.current(actor.user_id)
        if current is None or version != current:
            raise NotAuthenticated("this session has ended (logged out, password changed or disabled)")

    def forget(self, user_id: UUID) -> None:
        with self._lock:
            self._known.pop(user_id, None)
