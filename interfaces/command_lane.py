"""Where application commands run: a few dedicated threads (one on SQLite), apart from reads.

Commands load aggregates, decide and commit; on SQLite the commits are serial anyway, so letting
forty threads in at once only adds GIL and lock contention. The lane's own threads take the next
queued command as soon as one finishes, with no trip through the event loop in between. Reads,
pages and file serving keep the default thread pool, so a burst of writes never queues a
proctor's page behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class CommandLane:
    def __init__(self, concurrency: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="command")

    async def run(self, command: Callable[..., T], *args: object) -> T:
        """A command that has started runs to completion even if the client goes away."""
        return await asyncio.wrap_future(self._executor.submit(command, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
