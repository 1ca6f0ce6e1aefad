"""A wake-up call between two processes, over a socket pair.

Ringing never blocks: a full buffer means it is ringing already. Waiting drains every ring so
far, so a burst costs one wake-up. Unlike a multiprocessing Event it holds no named semaphore,
so nothing is left for the resource tracker to complain about when a server is stopped by a
signal (uvicorn re-raises SIGTERM after its graceful shutdown, which skips atexit handlers).
The object pickles into a spawned child (multiprocessing passes the sockets along).
"""

from __future__ import annotations

import contextlib
import socket


class Doorbell:
    def __init__(self) -> None:
        self._ringer, self._listener = socket.socketpair()
        self._ringer.setblocking(False)

    def set(self) -> None:
        """Ring (named like threading.Event.set, so it can stand wherever one is woken)."""
        with contextlib.suppress(OSError):  # full: already ringing; closed: nobody listens
            self._ringer.send(b"\0")

    def wait(self, timeout: float) -> bool:
        """True if it rang (since the last wait) within `timeout` seconds."""
        self._listener.settimeout(timeout)
        try:
            rang = bool(self._listener.recv(4096))
        except OSError:  # timed out (TimeoutError is an OSError), or closed
            return False
        self._listener.setblocking(False)
        with contextlib.suppress(OSError):  # drained: would block
            while self._listener.recv(4096):
                pass
        return rang

    def close(self) -> None:
        self._ringer.close()
        self._listener.close()
