"""Group commit: requests of one kind that are ready at the same moment are saved together, in
one transaction, so a burst pays for one commit (one fsync on SQLite, one round trip on
PostgreSQL) instead of one each. A batch is whatever became ready while the previous one was
being saved, so a lone request waits for nobody.

Batches are saved on their own thread, one at a time: the event loop serves other requests
while a batch waits for the disk. Measured on 2 cores, 8 candidates uploading snapshots back to
back: a commit per upload on the loop kept it waiting on fsyncs ~40% of the time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_BATCH = 64


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        commit: Callable[[Sequence[Item]], Sequence[Result | Exception]],
        max_batch: int = MAX_BATCH,
    ) -> None:
        """`commit` saves a batch and returns, in order, each item's result or its error."""
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="group-commit")
        self._commit = commit
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """The item's result once its batch is saved. Like any command, a save that has begun
        completes even if the caller goes away meanwhile."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_mark_retrieved)
        self._waiting.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while True:
            await asyncio.sleep(0)  # requests that are ready now join this batch
            if not self._waiting:
                return
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                results: Sequence[Result | Exception] = await asyncio.wrap_future(
                    self._thread.submit(self._commit, [item for item, _ in batch])
                )
            except Exception as exc:  # the batch as a whole failed: each caller hears why
                results = [exc] * len(batch)
            except BaseException:
                for _, future in batch:
                    future.cancel()
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def close(self) -> None:
        """Waits for the batch being saved, if any."""
        self._thread.shutdown(wait=True)


def _mark_retrieved(future: asyncio.Future[Any]) -> None:
    """A caller that went away leaves its result unread: that is expected, not worth a log line."""
    if not future.cancelled():
        future.exception()
