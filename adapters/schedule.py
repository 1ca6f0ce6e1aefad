"""A task run once a day at a set time, by the application's clock (a fake one in tests)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from application.ports import Clock

log = logging.getLogger(__name__)
CHECK_SECONDS = 60.0  # how often the thread looks at the clock: it may jump (NTP, suspend)


def next_run(now: datetime, at: time) -> datetime:
    """The first moment after `now` whose time of day is `at` (naive `at`: UTC)."""
    zone = at.tzinfo or UTC
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), at.replace(tzinfo=None), tzinfo=zone)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


class DailyTask:
    """Runs `task` every day at `at` in a daemon thread until stopped. A run that fails is
    logged and the next one is tomorrow's; a missed time (the process was down) is not made up
    for: the next run finds everything that is due anyway."""

    def __init__(
        self, name: str, at: time, clock: Clock, task: Callable[[], object],
        check_seconds: float = CHECK_SECONDS,
    ) -> None:  # fmt: skip
        self.name, self.at, self.clock, self.task = name, at, clock, task
        self.check_seconds = check_seconds
        self.next_at = next_run(clock.now(), at)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def tick(self) -> bool:
        """Runs the task if its time came; True if it ran."""
        now = self.clock.now()
        if now < self.next_at:
            return False
        self.next_at = next_run(now, self.at)
        try:
            self.task()
        except Exception:
            log.exception("daily task %s failed; next run at %s", self.name, self.next_at.isoformat())
        return True

    def _run(self) -> None:
        while True:
            remaining = (self.next_at - self.clock.now()).total_seconds()
            if self._stopping.wait(min(max(remaining, 0.0), self.check_seconds)):
                return
            self.tick()
