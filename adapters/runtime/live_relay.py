"""Live signaling between sockets, carried on the message bus: one bus channel per attempt, so a
candidate on one server process and a proctor on another still meet (PostgreSQL LISTEN/NOTIFY).

Each socket has a Mailbox. The bus calls back on its own thread (or the publisher's); the
mailbox hands each message to the socket's event loop and filters there what is not for it: a
viewer hears only the candidate's page, the candidate's page hears every viewer, and an
addressed message reaches only its peer. A mailbox its socket stops reading (a stalled client)
overflows and ends that socket alone."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID

from adapters.runtime.bus import LocalBus
from application.live import LiveSeat

MAILBOX_LIMIT = 512
OVERFLOW = None  # the sentinel a mailbox yields once it overflowed


def channel(attempt_id: UUID) -> str:
    return f"live.{attempt_id}"


class Mailbox:
    def __init__(self, seat: LiveSeat, loop: asyncio.AbstractEventLoop) -> None:
        self.seat = seat
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.overflowed = False
        self.unsubscribe: Callable[[], None] = lambda: None

    def wants(self, payload: dict[str, Any]) -> bool:
        if payload.get("role") == self.seat.role:  # viewers never hear viewers, nor pages pages
            return False
        to = payload.get("to")
        return to is None or to == self.seat.peer

    def deliver(self, payload: dict[str, Any]) -> None:
        """Any thread: hand the message over to the socket's loop."""
        if self.wants(payload):
            self.loop.call_soon_threadsafe(self._put, payload["message"])

    def _put(self, message: dict[str, Any]) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= MAILBOX_LIMIT:
            self.overflowed = True
            self.queue.put_nowait(OVERFLOW)
            return
        self.queue.put_nowait(message)


class LiveRelay:
    def __init__(self, bus: LocalBus) -> None:
        """The bus's publish never waits on the network (PostgresBus sends on its own thread)."""
        self.bus = bus
        self._lock = threading.Lock()
        self._publishers: Counter[UUID] = Counter()

    def open(self, seat: LiveSeat) -> Mailbox:
        mailbox = Mailbox(seat, asyncio.get_running_loop())
        mailbox.unsubscribe = self.bus.subscribe(channel(seat.attempt_id), mailbox.deliver)
        if seat.role == "publisher":
            with self._lock:
                self._publishers[seat.attempt_id] += 1
        return mailbox

    def close(self, mailbox: Mailbox) -> int:
        """Stops the mailbox; returns how many publisher sockets of its attempt stay open here."""
        mailbox.unsubscribe()
        seat = mailbox.seat
        with self._lock:
            if seat.role == "publisher":
                self._publishers[seat.attempt_id] -= 1
                if self._publishers[seat.attempt_id] <= 0:
                    del self._publishers[seat.attempt_id]
            return self._publishers.get(seat.attempt_id, 0)

    def send(self, seat: LiveSeat, message: dict[str, Any], to: str | None) -> None:
        """Delivers `message` (with "from" added) to the other side of the seat's attempt."""
        payload = {"role": seat.role, "to": to, "message": {**message, "from": seat.peer}}
        self.bus.publish(channel(seat.attempt_id), payload)
