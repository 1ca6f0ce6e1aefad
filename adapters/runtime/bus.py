"""The message bus (application.ports.MessageBus): in-process, or across processes and machines
through PostgreSQL LISTEN/NOTIFY.

Channels in use: EVENTS_RECORDED (the event log grew: followers look again) and
FOLLOWER_PROGRESS ({"name": follower or None, "position": n}: a read model or process manager
applied up to n; the live feed and waiting reads look again). Next: WebRTC signaling, one
channel per attempt.

PostgresBus sends every message on ONE PostgreSQL channel with the bus channel inside the
envelope, so nothing is LISTENed or UNLISTENed per subscriber. NOTIFY carries at most 8000
bytes: a larger payload goes into a table row and the notification carries its id; rows older
than ROW_TTL are deleted as new ones are written. Subscribers in the publishing process are
called at once; the NOTIFY echo of a process's own message is skipped. `publish` never waits on
the network: one sender thread sends what is waiting, in order, as one pipeline (one round trip
for a burst: a classroom's pages reconnecting at once, say).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg import sql

from application.ports import Payload

log = logging.getLogger(__name__)
EVENTS_RECORDED = "events.recorded"
FOLLOWER_PROGRESS = "followers.progress"
PG_CHANNEL = "smart_exam_bus"
PG_TABLE = "smart_exam_bus_messages"
NOTIFY_LIMIT = 7900  # bytes; PostgreSQL refuses a NOTIFY payload of 8000 or more
ROW_TTL = "10 minutes"
SEND_BATCH = 500  # messages per pipeline at most
Callback = Callable[[Payload], None]


class LocalBus:
    """Calls the subscribers in the publisher's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, tuple[Callback, ...]] = {}

    def publish(self, channel: str, payload: Payload) -> None:
        self._deliver(channel, payload)

    def subscribe(self, channel: str, callback: Callback) -> Callable[[], None]:
        with self._lock:
            self._subscribers[channel] = (*self._subscribers.get(channel, ()), callback)

        def unsubscribe() -> None:
            with self._lock:
                rest = tuple(c for c in self._subscribers.get(channel, ()) if c is not callback)
                self._subscribers[channel] = rest

        return unsubscribe

    def _deliver(self, channel: str, payload: Payload) -> None:
        for callback in self._subscribers.get(channel, ()):  # a tuple: safe without the lock
            try:
                callback(payload)
            except Exception:
                log.exception("bus subscriber on %s failed", channel)

    def start(self) -> None:
        """Nothing to start in-process."""

    def stop(self) -> None:
        """Nothing to stop in-process."""


class PostgresBus(LocalBus):
    def __init__(self, conninfo: str, relays: Mapping[str, str] | None = None) -> None:
        """`relays`: other PostgreSQL channels to LISTEN on, each delivered as an empty message
        on a bus channel (eventsourcing's recorder NOTIFYs its table's channel on every insert)."""
        super().__init__()
        self.conninfo = conninfo
        self.relays = dict(relays or {})
        self.origin = uuid.uuid4().hex
        self._sender: psycopg.Connection[Any] | None = None
        self._outbox: queue.SimpleQueue[str | None] = queue.SimpleQueue()  # None: stop
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True, name="bus-listen")
        self._send_thread = threading.Thread(target=self._send_forever, daemon=True, name="bus-send")

    def create_table(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {0} (id BIGSERIAL PRIMARY KEY, "
                    "payload TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                ).format(sql.Identifier(PG_TABLE))
            )

    def start(self) -> None:
        self._send_thread.start()
        self._thread.start()
        self._listening.wait(5.0)

    def stop(self) -> None:
        """Sends what is still waiting (bounded), then stops both threads."""
        self._outbox.put(None)
        if self._send_thread.is_alive():
            self._send_thread.join(2)
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def publish(self, channel: str, payload: Payload) -> None:
        self._deliver(channel, payload)
        self._outbox.put(json.dumps({"o": self.origin, "c": channel, "p": payload}, separators=(",", ":")))

    def _send_forever(self) -> None:
        while True:
            texts = [self._outbox.get()]
            while len(texts) < SEND_BATCH:
                try:
                    texts.append(self._outbox.get_nowait())
                except queue.Empty:
                    break
            waiting = [t for t in texts if t is not None]
            if waiting:
                self._send_batch(waiting)
            if None in texts:
                if self._sender is not None:
                    self._sender.close()
                return

    def _send_batch(self, texts: list[str]) -> None:
        for attempt in (1, 2):
            try:
                conn = self._connection()
                with conn.pipeline():
                    for text in texts:
                        self._send(conn, text)
                return
            except psycopg.Error:
                log.warning(
                    "bus: sending %d message(s) failed (try %d of 2)", len(texts), attempt, exc_info=True
                )
                if self._sender is not None:
                    self._sender.close()
                self._sender = None
        log.error("bus: %d message(s) were not sent", len(texts))  # at most once: the pollers catch up

    def _connection(self) -> psycopg.Connection[Any]:
        if self._sender is None or self._sender.closed:
            self._sender = psycopg.connect(self.conninfo, autocommit=True)
        return self._sender

    def _send(self, conn: psycopg.Connection[Any], text: str) -> None:
        if len(text.encode()) > NOTIFY_LIMIT:
            with conn.transaction():
                table = sql.Identifier(PG_TABLE)
                conn.execute(
                    sql.SQL("DELETE FROM {0} WHERE created_at < now() - %s::interval").format(table),
                    [ROW_TTL],
                )
                row = conn.execute(
                    sql.SQL("INSERT INTO {0} (payload) VALUES (%s) RETURNING id").format(table), [text]
                ).fetchone()
                assert row is not None
                text = json.dumps({"o": self.origin, "r": row[0]})
                conn.execute("SELECT pg_notify(%s, %s)", [PG_CHANNEL, text])  # sent on commit
            return
        conn.execute("SELECT pg_notify(%s, %s)", [PG_CHANNEL, text])

    @staticmethod
    def _fetch_row(conn: psycopg.Connection[Any], row_id: int) -> str | None:
        found = conn.execute(
            sql.SQL("SELECT payload FROM {0} WHERE id = %s").format(sql.Identifier(PG_TABLE)), [row_id]
        ).fetchone()
        return str(found[0]) if found else None

    def _receive(self, conn: psycopg.Connection[Any], pg_channel: str, text: str) -> None:
        if pg_channel in self.relays:
            self._deliver(self.relays[pg_channel], {})
            return
        envelope = json.loads(text)
        if envelope.get("o") == self.origin:
            return
        if "r" in envelope:
            stored = self._fetch_row(conn, int(envelope["r"]))
            if stored is None:
                log.warning("bus message row %s is gone (older than %s)", envelope["r"], ROW_TTL)
                return
            envelope = json.loads(stored)
        self._deliver(str(envelope["c"]), envelope["p"])

    def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    for channel in (PG_CHANNEL, *self.relays):
                        conn.execute(sql.SQL("LISTEN {0}").format(sql.Identifier(channel)))
                    self._listening.set()
                    for bus_channel in self.relays.values():  # we may have missed some meanwhile
                        self._deliver(bus_channel, {})
                    while not self._stopping.is_set():
                        for notify in list(conn.notifies(timeout=0.5, stop_after=1)):
                            try:
                                self._receive(conn, notify.channel, notify.payload)
                            except (ValueError, KeyError, psycopg.Error):
                                log.exception("bus message on %s could not be read", notify.channel)
            except psycopg.Error:
                log.warning("bus LISTEN connection lost; reconnecting", exc_info=True)
                self._stopping.wait(1.0)
