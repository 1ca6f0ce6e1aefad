"""The evidence-ingest pipeline: a request body streamed to its final file under a size cap,
checked by its kind's validator on the way, fsynced, then recorded through the group commit.

Order, and what each refusal leaves: the body is counted as it arrives and refused (413) as
soon as it passes the cap; the validator sees the first bytes before the file is created
(O_EXCL, under its final name), then every chunk as it is written, then gives its verdict; the
file is fsynced; its folder is fsynced once per batch and the batch recorded in one
transaction. Any refusal before the record, a client that goes away mid-body, or a caller
cancelled mid-body leaves no file and no event. Once the body is complete the upload is
handed over and completes even if its caller goes away, so no file is left without its event.

File work runs on writer threads, never on the event loop, and at most one piece of an upload
is in flight at a time. A body under FLUSH_BYTES (a snapshot) costs one writer-thread trip:
create, write, fsync, then straight to the commit thread, which wakes the loop once per batch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import BinaryIO, Generic, Protocol, TypeVar

from adapters.ingest.group_commit import GroupCommit, settle_threadsafe
from adapters.ingest.validators import Validator
from domain.errors import PayloadTooLarge
from media_storage import MediaStorage

# A write waits ~4 ms on its fsync: 16 writers take ~4,000 uploads/s, far above what one
# process records.
FILE_WRITERS = 16
FLUSH_BYTES = 256 * 1024  # a larger body is written in pieces of about this size as it arrives


class Stored(Protocol):
    """What the record function is given carries its file's path (relative to the storage)."""

    @property
    def path(self) -> str: ...


Item = TypeVar("Item", bound=Stored)
Item_co = TypeVar("Item_co", bound=Stored, covariant=True)
Record = Callable[[Sequence[Item]], Sequence[object]]


class Evidence(Protocol[Item_co]):
    """One upload's kind-specific parts: its validator, where its file goes, what is recorded."""

    @property
    def validator(self) -> Validator: ...

    def create(self, storage: MediaStorage) -> tuple[str, BinaryIO]:
        """Its new empty file under its final name (relative path, open file); Conflict if taken."""
        ...

    def recorded_as(self, path: str, size: int) -> Item_co:
        """What the record function gets, once the file is complete, checked and fsynced."""
        ...


class IngestPipeline(Generic[Item]):
    def __init__(
        self,
        record: Record[Item],
        storage: MediaStorage,
        max_bytes: int,
        *,
        label: str = "body",
        writers: int = FILE_WRITERS,
    ) -> None:
        """`record` saves a batch of items in one transaction and returns, in order, each one's
        result or the SmartExamError it was refused with (e.g. the app's record_snapshots)."""
        self.storage = storage
        self.max_bytes = max_bytes
        self.label = label
        self._writers = ThreadPoolExecutor(max_workers=writers, thread_name_prefix=f"{label}-write")
        self._commits: GroupCommit[Item, Item] = GroupCommit(partial(record_written, storage, record))

    def refuse_declared_length(self, declared: int | None) -> None:
        """413 before anything is read when the declared Content-Length is over the cap."""
        if declared is not None and declared > self.max_bytes:
            raise self._too_large()

    async def ingest(self, evidence: Evidence[Item], body: AsyncIterable[bytes]) -> Item:
        """Streams `body` into `evidence`'s file and records it; returns what was recorded."""
        upload: _Upload[Item] = _Upload(self.storage, evidence)
        pending: concurrent.futures.Future[None] | None = None
        chunks: list[bytes] = []
        size = buffered = 0
        try:
            async for chunk in body:
                size += len(chunk)
                if size > self.max_bytes:
                    raise self._too_large()
                chunks.append(chunk)
                buffered += len(chunk)
                if buffered >= FLUSH_BYTES:
                    if pending is not None:
                        await asyncio.wrap_future(pending)
                    pending = self._writers.submit(upload.write, chunks)
                    chunks, buffered = [], 0
            if pending is not None:
                await asyncio.wrap_future(pending)
        except BaseException as exc:
            discarded = self._writers.submit(upload.discard, pending)
            if not isinstance(exc, asyncio.CancelledError):  # a cancelled caller waits for nothing
                await asyncio.wrap_future(discarded)
            raise
        loop = asyncio.get_running_loop()
        recorded: asyncio.Future[Item] = loop.create_future()
        self._writers.submit(self._finish_then_record, upload, chunks, size, loop, recorded)
        return await recorded

    def _finish_then_record(
        self,
        upload: _Upload[Item],
        chunks: list[bytes],
        size: int,
        loop: asyncio.AbstractEventLoop,
        recorded: asyncio.Future[Item],
    ) -> None:
        try:
            item = upload.finish(chunks, size)
        except Exception as exc:
            failed: list[tuple[asyncio.Future[Item], Item | Exception]] = [(recorded, exc)]
            settle_threadsafe(loop, failed)
            return
        self._commits.put(item, loop, recorded)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"{self.label} is larger than {self.max_bytes} bytes")

    def close(self) -> None:
        """Waits for the uploads under way and records them."""
        self._writers.shutdown(wait=True)
        self._commits.close()


class _Upload(Generic[Item]):
    """One upload's file, touched only on writer threads, one piece at a time."""

    def __init__(self, storage: MediaStorage, evidence: Evidence[Item]) -> None:
        self.storage = storage
        self.evidence = evidence
        self.validator = evidence.validator
        self.path: str | None = None
        self.file: BinaryIO | None = None

    def write(self, chunks: list[bytes]) -> None:
        try:
            if self.file is None:
                self.validator.check_head(_first_bytes(chunks, self.validator.head_bytes))
                self.path, self.file = self.evidence.create(self.storage)
            for chunk in chunks:
                self.validator.feed(chunk)
                self.file.write(chunk)
        except BaseException:
            self.discard()
            raise

    def finish(self, chunks: list[bytes], size: int) -> Item:
        self.write(chunks)
        assert self.path is not None and self.file is not None
        try:
            self.validator.finish()
            self.storage.seal(self.file)
        except BaseException:
            self.discard()
            raise
        return self.evidence.recorded_as(self.path, size)

    def discard(self, pending: concurrent.futures.Future[None] | None = None) -> None:
        """Removes the file, once the piece still being written (if any) is done."""
        if pending is not None:
            concurrent.futures.wait([pending])
        if self.path is not None:
            self.storage.abandon(self.path, self.file)
        self.path = self.file = None


def _first_bytes(chunks: list[bytes], count: int) -> bytes:
    head = b""
    for chunk in chunks:
        if len(head) >= count:
            break
        head += chunk[: count - len(head)]
    return head


def record_written(
    storage: MediaStorage, record: Record[Item], files: Sequence[Item]
) -> list[Item | Exception]:
    """Records a batch of written files once their names are durable (one fsync per folder for
    the whole batch): each item, or why it was refused. A refused one leaves no file behind:
    no event, no file."""
    try:
        storage.sync_folders(file.path for file in files)
        results = record(files)
    except Exception:
        for file in files:
            storage.delete(file.path)
        raise
    outcomes: list[Item | Exception] = []
    for file, result in zip(files, results, strict=True):
        if isinstance(result, Exception):
            storage.delete(file.path)
            outcomes.append(result)
        else:
            outcomes.append(file)
    return outcomes
