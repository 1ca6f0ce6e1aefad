"""Where a checked snapshot goes: its file is written and fsynced on a writer thread, then it
is recorded together with the other snapshots ready at that moment (group commit).

The writers are our own threads rather than Starlette's thread pool: handing work to anyio's
pool costs the event loop several times more Python per call (capacity limiter, cancel scopes,
backend lookups), and the loop is what limits uploads/s (benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from uuid import uuid4

from application.proctoring import SnapshotFile
from domain.errors import Conflict, PayloadTooLarge, SmartExamError
from domain.proctoring import ProctorSession
from interfaces.bootstrap import Services
from interfaces.group_commit import GroupCommit
from media_storage.images import jpeg_dimensions

# A write waits ~4 ms on its fsync: 16 writers take ~4,000 uploads/s, far above what one
# process records, and cap how many uploads hold a body in memory while the disk is slow.
FILE_WRITERS = 16
NAME_TRIES = 5


class SnapshotIngest:
    def __init__(self, services: Services, writers: int = FILE_WRITERS) -> None:
        self._services = services
        self._writers = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="snapshot-write")
        self._commits = GroupCommit(partial(record_snapshots, services))

    async def ingest(self, session: ProctorSession, data: bytes) -> SnapshotFile:
        """Stores and records one snapshot; once begun, it completes even if the caller goes
        away, so no file is left without its event."""
        return await asyncio.shield(self._write_and_record(session, data))

    async def _write_and_record(self, session: ProctorSession, data: bytes) -> SnapshotFile:
        loop = asyncio.get_running_loop()
        file = await loop.run_in_executor(self._writers, write_snapshot, self._services, session, data)
        await self._commits.submit(file)
        return file

    def close(self) -> None:
        """Waits for the writes and the batch under way."""
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


def record_snapshots(services: Services, files: Sequence[SnapshotFile]) -> list[int | SmartExamError]:
    """Records a batch of written snapshots once their names are durable (one fsync per folder
    for the whole batch); a refused one leaves no file behind: no event, no file."""
    try:
        services.media.sync_folders(file.path for file in files)
        results = services.app.record_snapshots(files)
    except Exception:
        for file in files:
            services.media.delete(file.path)
        raise
    for file, result in zip(files, results, strict=True):
        if isinstance(result, Exception):
            services.media.delete(file.path)
    return results
