"""Group commit: items of one kind that are ready at the same moment are saved together, in one
transaction, so a burst pays for one commit (one fsync on SQLite, one round trip on
PostgreSQL) instead of one each. A batch is whatever became ready while the previous one was
being saved, so a lone item waits for nobody.

Items are handed in from any thread and saved on one thread of their own, so a batch that
waits for the disk keeps nobody else waiting. Each caller's event loop is woken once per batch
with all of its results, not once per item: on 2 cores the event loop is what limits snapshot
uploads/s, and handing each upload back to it between its file write and its batch cost ~13%
of them (1,130 → 1,295/s with the disk taken out, on tmpfs; benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
Outcomes = list[tuple["asyncio.Future[Result]", "Result | Exception"]]

MAX_BATCH = 64


@dataclass(frozen=True)
class _Waiting(Generic[Item, Result]):
    item: Item
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Result]


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        commit: Callable[[Sequence[Item]], Sequence[Result | Exception]],
        max_batch: int = MAX_BATCH,
    ) -> None:
        """`commit` saves a batch and returns, in order, each item's result or its error."""
        self._commit = commit
        self._max_batch = max_batch
        self._waiting: queue.SimpleQueue[_Waiting[Item, Result] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._save_batches, name="group-commit", daemon=True)
        self._thread.start()

    def put(self, item: Item, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Result]) -> None:
        """From any thread: `future`, of `loop`, gets the item's result once its batch is saved.
        Like any command, a save that has begun completes even if the caller goes away."""
        self._waiting.put(_Waiting(item, loop, future))

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self.put(item, loop, future)
        return await future

    def close(self) -> None:
        """Saves what is waiting, then stops."""
        self._waiting.put(None)
        self._thread.join()

    def _save_batches(self) -> None:
        closed = False
        while not closed:
            batch, closed = self._next_batch()
            if batch:
                self._save(batch)

    def _next_batch(self) -> tuple[list[_Waiting[Item, Result]], bool]:
        """Waits for one item, then takes whatever else is ready, up to the cap; and whether
        it reached the mark `close` leaves."""
        batch: list[_Waiting[Item, Result]] = []
        waiting = self._waiting.get()
        while waiting is not None:
            batch.append(waiting)
            if len(batch) == self._max_batch:
                return batch, False
            try:
                waiting = self._waiting.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _save(self, batch: list[_Waiting[Item, Result]]) -> None:
        try:
            results: Sequence[Result | Exception] = self._commit([w.item for w in batch])
        except Exception as exc:  # the batch as a whole failed: each caller hears why
            results = [exc] * len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, Outcomes[Result]] = {}
        for waiting, result in zip(batch, results, strict=True):
            by_loop.setdefault(waiting.loop, []).append((waiting.future, result))
        for loop, outcomes in by_loop.items():
            settle_threadsafe(loop, outcomes)


def settle_threadsafe(loop: asyncio.AbstractEventLoop, outcomes: Outcomes[Result]) -> None:
    """From any thread: sets each future's result or error, in one wake-up of `loop`."""
    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting any more
        loop.call_soon_threadsafe(_settle, outcomes)


def _settle(outcomes: Outcomes[Result]) -> None:
    for future, result in outcomes:
        if future.done():  # its caller went away
            continue
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)
