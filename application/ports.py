"""What the application needs from the outside world; adapters implement these."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class ActiveAttempts(Protocol):
    """A read-side query the expiry sweep uses to find candidates for expiry."""

    def overdue_attempt_ids(self, now: datetime) -> list[UUID]: ...
