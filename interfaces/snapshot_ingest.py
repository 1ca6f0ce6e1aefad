"""Where a checked snapshot goes: its file is written and fsynced on a writer thread, which then
hands it straight to the group commit; the event loop hears back once, when its batch is saved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from uuid import uuid4

from adapters.runtime.services import Services
from application.proctoring import SnapshotFile
from domain.errors import Conflict, PayloadTooLarge, SmartExamError
from domain.proctoring import ProctorSession
from interfaces.group_commit import GroupCommit, settle_threadsafe
from media_storage.images import jpeg_dimensions

# A write waits ~4 ms on its fsync: 16 writers take ~4,000 uploads/s, far above what one
# process records.
FILE_WRITERS = 16
NAME_TRIES = 5


class SnapshotIngest:
    def __init__(self, services: Services, writers: int = FILE_WRITERS) -> None:
        self._services = services
        self._writers = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="snapshot-write")
        self._commits: GroupCommit[SnapshotFile, SnapshotFile] = GroupCommit(
            partial(record_snapshots, services)
        )

    async def ingest(self, session: ProctorSession, data: bytes) -> SnapshotFile:
        """Stores and records one snapshot. Once handed over it completes even if the caller
        goes away, so no file is left without its event."""
        loop = asyncio.get_running_loop()
        recorded: asyncio.Future[SnapshotFile] = loop.create_future()
        self._writers.submit(self._write_then_record, session, data, loop, recorded)
        return await recorded

    def _write_then_record(
        self,
        session: ProctorSession,
        data: bytes,
        loop: asyncio.AbstractEventLoop,
        recorded: asyncio.Future[SnapshotFile],
    ) -> None:
        try:
            file = write_snapshot(self._services, session, data)
        except Exception as exc:
            failed: list[tuple[asyncio.Future[SnapshotFile], SnapshotFile | Exception]] = [(recorded, exc)]
            settle_threadsafe(loop, failed)
            return
        self._commits.put(file, loop, recorded)

    def close(self) -> None:
        """Waits for the writes under way and records them."""
        self._writers.shutdown(wait=True)
        self._commits.close()


def write_snapshot(services: Services, session: ProctorSession, data: bytes) -> SnapshotFile:
    settings, app, storage = services.settings, services.app, services.media
    width, height = jpeg_dimensions(data)
    if width * height > settings.max_snapshot_pixels:
        raise PayloadTooLarge(
            f"snapshot has {width}x{height} pixels; the limit is {settings.max_snapshot_pixels}"
        )
    taken_at = app.clock.now()
    for _ in range(NAME_TRIES):  # names are per millisecond: a burst may need the next one
        relative = storage.snapshot_path(session.attempt_id, taken_at)
        try:
            storage.write(relative, data)  # its folder is fsynced with the batch it is recorded in
        except Conflict:
            taken_at += timedelta(milliseconds=1)
            continue
        return SnapshotFile(session, uuid4(), relative, len(data), taken_at)
    raise Conflict("too many snapshots of this attempt at once; retry")


def record_snapshots(
    services: Services, files: Sequence[SnapshotFile]
) -> list[SnapshotFile | SmartExamError]:
    """Records a batch of written snapshots once their names are durable (one fsync per folder
    for the whole batch): each file, or why it was refused. A refused one leaves no file
    behind: no event, no file."""
    try:
        services.media.sync_folders(file.path for file in files)
        results = services.app.record_snapshots(files)
    except Exception:
        for file in files:
            services.media.delete(file.path)
        raise
    outcomes: list[SnapshotFile | SmartExamError] = []
    for file, result in zip(files, results, strict=True):
        if isinstance(result, Exception):
            services.media.delete(file.path)
            outcomes.append(result)
        else:
            outcomes.append(file)
    return outcomes
