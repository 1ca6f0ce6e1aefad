"""What the application needs from the outside world; adapters implement these."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class ActiveAttempts(Protocol):
    """A read-side query the expiry sweep uses to find candidates for expiry."""

    def overdue_attempt_ids(self, now: datetime) -> list[UUID]: ...


Payload = dict[str, Any]  # JSON-able: str keys; str, int, float, bool, None, lists and dicts of them


class MessageBus(Protocol):
    """Messages with payloads between the parts of one process, and (PostgreSQL) across
    processes and machines. Delivery is at-most-once and unordered across publishers: a message
    says "look again" or carries a small payload (WebRTC signaling, read-model progress).
    Callbacks run on the bus's own thread or the publisher's: they must be quick, never block."""

    def publish(self, channel: str, payload: Payload) -> None: ...

    def subscribe(self, channel: str, callback: Callable[[Payload], None]) -> Callable[[], None]:
        """Calls `callback(payload)` for every message on `channel`; returns the unsubscribe."""
        ...
