from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicTask:
    """Runs `task` every `interval` seconds in a daemon thread until stopped; the first time
    after `first_after` seconds if given (e.g. soon after startup), else after `interval`."""

    def __init__(
        self, name: str, interval: float, task: Callable[[], object], first_after: float | None = None
    ) -> None:
        self.name, self.interval, self.task = name, interval, task
        self.first_after = interval if first_after is None else first_after
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _run(self) -> None:
        wait = self.first_after
        while not self._stopping.wait(wait):
            wait = self.interval
            try:
                self.task()
            except Exception:
                log.exception("periodic task %s failed", self.name)
