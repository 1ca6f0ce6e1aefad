"""eventsourcing 9.5.6 has no subscribe() on SQLite. This recorder adds one: subscribers
are woken at once by inserts made in this process and poll for inserts by other processes.

It also lets one thread of this process write at a time: SQLite makes a second writer sleep
and retry (1, 2, 5, 10 ms ...), where a lock hands over as soon as the first commits."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from eventsourcing.persistence import ListenNotifySubscription, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

POLL_SECONDS = 0.1


class Wakeable(Protocol):
    def set(self) -> None: ...


class SubscribingSQLiteRecorder(SQLiteApplicationRecorder):
    _wakeups: ClassVar[dict[str, set[Wakeable]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()
    _writers: ClassVar[dict[str, threading.Lock]] = {}

    @property
    def _key(self) -> str:
        return str(self.datastore.pool.db_name)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        with self._lock:
            writer = self._writers.setdefault(self._key, threading.Lock())
        with writer:
            result = super().insert_events(stored_events, **kwargs)
        self.wake_subscribers()
        return result

    def wake_subscribers(self) -> None:
        with self._lock:
            events = list(self._wakeups.get(self._key, ()))
        for event in events:
            event.set()

    def register(self, event: Wakeable) -> None:
        with self._lock:
            self._wakeups.setdefault(self._key, set()).add(event)

    def unregister(self, event: Wakeable) -> None:
        with self._lock:
            self._wakeups.get(self._key, set()).discard(event)

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> SQLiteSubscription:
        return SQLiteSubscription(self, gt=gt, topics=topics)


class SQLiteSubscription(ListenNotifySubscription[SubscribingSQLiteRecorder]):
    def __init__(self, recorder: SubscribingSQLiteRecorder, gt: int | None, topics: Sequence[str]) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        recorder.register(self._has_been_notified)
        self._poller = threading.Thread(target=self._poll, daemon=True, name="sqlite-poll")
        self._poller.start()

    def _poll(self) -> None:
        while not self._has_been_stopped:
            threading.Event().wait(POLL_SECONDS)
            self._has_been_notified.set()

    def stop(self) -> None:
        self._recorder.unregister(self._has_been_notified)
        super().stop()
