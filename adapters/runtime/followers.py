"""One follower runner for everything that follows the event log: read models now, process
managers next. Each follower runs in a thread (in the server, in its projection child or in
`smart-exam worker`: the same code). It reads the notification log after the follower's
tracking position, filtered by its topics, and hands each event to `process` inside one
`batch()` (one transaction for many events). Woken by EVENTS_RECORDED on the bus, and polls as a
safety net; restarts after errors with backoff; if another process applied an event first
(IntegrityError), it resumes after it.

Tracking records what the follower has EXAMINED, not only what it handled: after a batch the
position moves to the log's top as read before the batch, even past events its topics filter
out, so a read can wait for "the log as it is now" and never for an event this follower never
receives (eventsourcing note §9.6). After each batch FOLLOWER_PROGRESS is published.

A process manager plugs in as one more Follower in the list bootstrap builds:
  - `name`, `topics` (e.g. Attempt.Submitted, Attempt.Expired, Attempt.ForceEnded);
  - `tracking`: a TrackingRecorder subclass holding its job table (adapters/sql_view.py shows
    the pattern), so `process(event, tracking)` writes the job row and the tracking row in ONE
    transaction (exactly once), and `batch()` may group them;
  - the slow work (ffmpeg, then a command on the app such as finalising a recording) is done
    by separate job workers that claim rows with a lease, never inside `process`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder, WaitInterruptedError
from eventsourcing.projection import Projection

from adapters.runtime.bus import EVENTS_RECORDED, FOLLOWER_PROGRESS, LocalBus
from adapters.runtime.faults import FaultReporter, NoFaultLog
from application.ports import MessageBus, Payload
from projections.rows import RowView

log = logging.getLogger(__name__)
BATCH_SIZE = 200
# After applying a batch, let the next events gather for a moment: under load one batch of many
# costs far less than many batches of one (one process, start+submit: 165 -> 244 pairs/s at
# 0.05 s). An event arriving after a quiet spell is still applied at once.
COALESCE_SECONDS = 0.05


class Follower(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def topics(self) -> Sequence[str]:
        """Stored topics it reacts to (filters the log in SQL); empty: every event."""
        ...

    @property
    def tracking(self) -> TrackingRecorder:
        """Where its position is recorded, together with its effects."""
        ...

    def process(self, event: DomainEventProtocol[Any], tracking: Tracking) -> None: ...

    def batch(self) -> AbstractContextManager[None]:
        """One transaction around several process() calls and tracking inserts."""
        ...


class ReadModel:
    """A projection over a RowView as a Follower; rebuildable (reset, then catch up)."""

    def __init__(self, projection: Projection[RowView]) -> None:
        self.projection = projection
        self.view: RowView = projection.view

    @property
    def name(self) -> str:
        return self.projection.name

    @property
    def topics(self) -> Sequence[str]:
        return self.projection.topics

    @property
    def tracking(self) -> TrackingRecorder:
        return self.view

    def process(self, event: DomainEventProtocol[Any], tracking: Tracking) -> None:
        self.projection.process_event(event, tracking)

    def batch(self) -> AbstractContextManager[None]:
        return self.view.batch()


class FollowerRunner:
    def __init__(
        self,
        app: Application[Any],
        follower: Follower,
        bus: MessageBus | None = None,
        poll_seconds: float = 0.1,
        faults: FaultReporter | None = None,
    ) -> None:
        self.app = app
        self.faults: FaultReporter = faults or NoFaultLog()
        self.failing: tuple[int, str] | None = None  # (position, topic) of the event it cannot apply
        self._batch_size = BATCH_SIZE
        self._current: tuple[int, str] = (0, "")
        self._suspect = 0
        self.follower = follower
        self.bus: MessageBus = bus or LocalBus()
        self.poll_seconds = poll_seconds
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._unsubscribe: Callable[[], None] = lambda: None
        self._moved = False
        self._thread = threading.Thread(target=self._run, daemon=True, name=follower.name)

    def wake(self, _payload: Payload | None = None) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._unsubscribe = self.bus.subscribe(EVENTS_RECORDED, self.wake)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wakeup.set()
        self._unsubscribe()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def catch_up(self, progress: Callable[[int], None] = lambda _position: None) -> int:
        """Apply everything recorded so far, batch by batch. Returns how many events it handled."""
        handled = 0
        name, tracking = self.app.name, self.follower.tracking
        while not self._stopping.is_set():
            start = tracking.max_tracking_id(name) or 0
            top = self.app.recorder.max_notification_id() or 0
            if top <= start:
                break
            size, self._current = self._batch_size, (0, "")
            notifications = self.app.recorder.select_notifications(
                start, size, stop=top, topics=self.follower.topics, inclusive_of_start=False
            )
            examined = notifications[-1].id if len(notifications) == size else top
            with self.follower.batch():
                for notification in notifications:
                    self._current = (notification.id, notification.topic)
                    event = self.app.mapper.to_domain_event(notification)
                    self.follower.process(event, Tracking(name, notification.id))
                if not notifications or notifications[-1].id < examined:
                    tracking.insert_tracking(Tracking(name, examined))
            handled += len(notifications)
            if self._batch_size == 1 and self._current[0] >= self._suspect:
                self._recovered()
            progress(examined)
        return handled

    def _failed(self, error: Exception) -> None:
        """After a failed batch, retry one event at a time: the one that fails is then known
        exactly, and the events before it are applied. Reported in the log and on /healthz."""
        position, topic = self._current
        if position == 0:  # no event in hand: reading the log failed (the store is down)
            return
        if self._batch_size > 1:
            self._batch_size, self._suspect = 1, position
            return
        first = self.failing != (position, topic)
        self.failing = (position, topic)
        if first:
            log.error(
                "follower %s cannot apply event %d (%s): %s; it retries with backoff and "
                "everything after it waits", self.follower.name, position, topic, error,
            )
        self.faults.report(self.follower.name, position, topic, error)

    def _recovered(self) -> None:
        self._batch_size = BATCH_SIZE
        if self.failing is not None:
            name, position = self.follower.name, self.failing[0]
            log.warning("follower %s applied event %d after failing on it", name, position)
            self.failing = None
            self.faults.clear(self.follower.name)

    def _applied(self, position: int) -> None:
        self._moved = True
        self.bus.publish(FOLLOWER_PROGRESS, {"name": self.follower.name, "position": position})

    def _run(self) -> None:
        delay = 0.1
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                self._moved = False
                self.catch_up(progress=self._applied)
                if self._moved:
                    delay = 0.1
                    self._stopping.wait(COALESCE_SECONDS)
                    continue
            except IntegrityError:
                continue  # another process applied it first: resume after its position
            except Exception as error:
                if self._stopping.is_set():
                    return
                log.exception("follower %s failed; retrying in %.1fs", self.follower.name, delay)
                self._failed(error)
                self._stopping.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            self._wakeup.wait(self.poll_seconds)


def wait_until_applied(
    bus: MessageBus, tracking: TrackingRecorder, app_name: str, follower: str, position: int, timeout: float
) -> bool:
    """Block (at most `timeout` s) until `follower` has applied `position`; False on timeout.
    The library's TrackingRecorder.wait polls with backoff; a FOLLOWER_PROGRESS message for this
    follower (or an unnamed one, from a process that cannot say which) interrupts it at once."""
    interrupt = threading.Event()

    def progressed(payload: Payload) -> None:
        if payload.get("name") in (None, follower):
            interrupt.set()

    unsubscribe = bus.subscribe(FOLLOWER_PROGRESS, progressed)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                tracking.wait(app_name, position, max(deadline - time.monotonic(), 0.0), interrupt)
                return True
            except WaitInterruptedError:
                interrupt.clear()
            except TimeoutError:
                return False
    finally:
        unsubscribe()
