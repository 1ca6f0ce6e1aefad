"""Where application commands run: a few worker threads (one on SQLite), apart from reads.

Commands load aggregates, decide and commit; on SQLite the commits are serial anyway, so letting
forty threads in at once only adds GIL and lock contention. Reads, pages and file serving keep
the default thread pool, so a burst of writes never queues a proctor's page behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


class CommandLane:
    def __init__(self, concurrency: int) -> None:
        self._limiter = anyio.CapacityLimiter(concurrency)

    async def run(self, command: Callable[..., T], *args: object) -> T:
        """Runs to completion even if the client goes away: a command is never cut in half."""
        return await anyio.to_thread.run_sync(command, *args, limiter=self._limiter)
