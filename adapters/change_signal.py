"""Wakes read-model followers (SSE hubs) when a view changed: in-process directly, and
across processes through PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import logging
import threading

import psycopg

from adapters.sql_view import CHANGES_CHANNEL

log = logging.getLogger(__name__)


class ChangeSignal:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._version = 0

    def notify(self, _position: int = 0) -> None:
        with self._cond:
            self._version += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Blocks until the version moves past `seen` (or timeout); returns the version."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != seen, timeout)
            return self._version


class PostgresChangeListener:
    def __init__(self, conninfo: str, signal: ChangeSignal) -> None:
        self.conninfo = conninfo
        self.signal = signal
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
                    conn.execute(f"LISTEN {CHANGES_CHANNEL}")
                    self.signal.notify()  # we may have missed some while connecting
                    while not self._stopping.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self.signal.notify()
            except psycopg.Error:
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                self._stopping.wait(1.0)
