"""Follows the Proctor Center read model by position and fans changed rows out to SSE clients.

One follower thread per process runs ONE query per change for all clients; each client has a
bounded queue, and a client that stops reading is dropped (its EventSource reconnects with
Last-Event-ID and resumes from the read model, so nothing is lost). Woken by FOLLOWER_PROGRESS
on the bus; `shape` turns a row into what clients receive (the interfaces' DTO)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.runtime.bus import FOLLOWER_PROGRESS
from application.ports import MessageBus, Payload
from projections.center_queries import CenterQueries
from projections.proctor_center import ProctorCenterProjection

log = logging.getLogger(__name__)
SAFETY_POLL_SECONDS = 1.0
CROSS_PROCESS_POLL_SECONDS = 0.05  # SQLite with projections in another process: nobody wakes us


@dataclass(frozen=True)
class Change:
    position: int
    row: dict[str, Any]  # raw read-model row
    session: dict[str, Any]  # camelCase DTO, serialised once for every client


@dataclass(eq=False)
class FeedClient:
    accepts: Callable[[dict[str, Any]], bool]
    queue: asyncio.Queue[Change | None]
    dropped: bool = False
    stats: dict[str, int] = field(default_factory=lambda: {"sent": 0})


class SessionFeed:
    def __init__(
        self,
        center: CenterQueries,
        bus: MessageBus,
        queue_size: int,
        poll_seconds: float,
        shape: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> None:
        self.poll_seconds = poll_seconds
        self.center = center
        self.bus = bus
        self.shape = shape
        self.queue_size = queue_size
        self._changed = threading.Event()
        self._unsubscribe: Callable[[], None] = lambda: None
        self.clients: set[FeedClient] = set()
        self.watermark = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True, name="session-feed")

    def to_change(self, row: dict[str, Any]) -> Change:
        return Change(row["position"], row, self.shape(row))

    def _progressed(self, payload: Payload) -> None:
        if payload.get("name") in (None, ProctorCenterProjection.name):
            self._changed.set()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.watermark = self.center.max_position()
        self._unsubscribe = self.bus.subscribe(FOLLOWER_PROGRESS, self._progressed)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._unsubscribe()
        self._changed.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def subscribe(self, accepts: Callable[[dict[str, Any]], bool]) -> FeedClient:
        client = FeedClient(accepts, asyncio.Queue(self.queue_size))
        self.clients.add(client)
        return client

    def unsubscribe(self, client: FeedClient) -> None:
        self.clients.discard(client)

    def _follow(self) -> None:
        while not self._stopping.is_set():
            self._changed.wait(self.poll_seconds)
            self._changed.clear()  # a change from now on wakes the next round
            try:
                if not self.clients:  # nobody listening: just keep the watermark current, cheaply
                    top = self.center.max_position()
                    if not self.clients:  # a client arriving now snapshots at or after `top`
                        self.watermark = top
                        continue
                rows = self.center.changed_since(self.watermark)
            except Exception:
                log.exception("session feed query failed; retrying")
                self._stopping.wait(1.0)
                continue
            if rows and self._loop is not None:
                self.watermark = rows[-1]["position"]
                changes = [self.to_change(r) for r in rows]
                self._loop.call_soon_threadsafe(self._fan_out, changes)

    def _fan_out(self, changes: list[Change]) -> None:
        for client in list(self.clients):
            for change in changes:
                if not client.accepts(change.row):
                    continue
                try:
                    client.queue.put_nowait(change)
                except asyncio.QueueFull:
                    self._drop(client)
                    break

    def _drop(self, client: FeedClient) -> None:
        log.warning("dropping a stalled SSE client (queue of %d full)", self.queue_size)
        client.dropped = True
        self.clients.discard(client)
        while not client.queue.empty():
            client.queue.get_nowait()
        client.queue.put_nowait(None)  # wakes the stream so it ends
