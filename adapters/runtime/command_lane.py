"""Where application commands run: on the event loop itself (SQLite), or on a few dedicated
threads (PostgreSQL), apart from reads.

SQLite commits one transaction at a time anyway, and a command is short: about half a
millisecond of Python and one fsync. Handing it to a thread and back costs more than that
(a wake-up each way and the GIL passed back and forth): measured, start+submit ran 17% faster
on the loop than on one command thread (417 vs 359 pairs/s). On PostgreSQL a command waits on
network round trips, so it runs on threads and the loop serves others meanwhile. Either way a
command that has started runs to completion even if the client goes away, and reads, pages
and file serving keep the default thread pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class CommandLane:
    def __init__(self, threads: int) -> None:
        """threads=0: run each command on the event loop, one at a time, in arrival order."""
        self._executor = (
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="command") if threads else None
        )

    async def run(self, command: Callable[..., T], *args: object) -> T:
        if self._executor is None:
            return command(*args)
        return await asyncio.wrap_future(self._executor.submit(command, *args))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
