from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicTask:
    """Runs `task` every `interval` seconds in a daemon thread until stopped."""

    def __init__(self, name: str, interval: float, task: Callable[[], object]) -> None:
        self.name, self.interval, self.task = name, interval, task
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.task()
            except Exception:
                log.exception("periodic task %s failed", self.name)
