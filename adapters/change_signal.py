"""Wakes followers when something changed: in-process directly, and across processes
through PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


class ChangeSignal:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._version = 0
        self._listeners: list[Callable[[], None]] = []

    def listen(self, listener: Callable[[], None]) -> None:
        """Also call `listener` on every change (it must be quick and must not block)."""
        self._listeners.append(listener)

    def notify(self, _position: int = 0) -> None:
        with self._cond:
            self._version += 1
            self._cond.notify_all()
        for listener in self._listeners:
            listener()

    def wait(self, seen: int, timeout: float) -> int:
        """Blocks until the version moves past `seen` (or timeout); returns the version."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != seen, timeout)
            return self._version


class PostgresChangeListener:
    """LISTENs on one channel and calls `on_notify` for every notification (and on reconnect)."""

    def __init__(self, conninfo: str, channel: str, on_notify: Callable[[], None]) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self.on_notify = on_notify
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="pg-listen")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {0}").format(sql.Identifier(self.channel)))
                    self.on_notify()  # we may have missed some while connecting
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self.on_notify()
            except psycopg.Error:
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                self._stopping.wait(1.0)
