"""Webcam snapshots through the ingest pipeline: the caller's active session is checked first
(`authorize`, on the command lane), then the JPEG is streamed to
`proctor-snapshots/YYYY/MM/{attempt}_{time}.jpg` and recorded on that session."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, BinaryIO
from uuid import UUID, uuid4

from adapters.ingest.pipeline import IngestPipeline
from adapters.ingest.validators import AllOf, JpegDecodes, JpegSnapshot, Validator
from application import evidence
from application.access import Actor
from application.app import SmartExamApp
from application.config import AppSettings
from application.evidence import SnapshotFile
from domain.errors import Conflict
from domain.proctoring import ProctorSession
from media_storage import MediaStorage

NAME_TRIES = 5


@dataclass
class SnapshotUpload:
    """One snapshot's file: named by the time it is written, a millisecond later if taken."""

    session: ProctorSession
    now: Callable[[], datetime]
    validator: Validator
    taken_at: datetime | None = field(default=None, init=False)

    def create(self, storage: MediaStorage) -> tuple[str, BinaryIO]:
        taken_at = self.now()
        for _ in range(NAME_TRIES):  # names are per millisecond: a burst may need the next one
            relative = storage.snapshot_path(self.session.attempt_id, taken_at)
            try:
                file = storage.create(relative)
            except Conflict:
                taken_at += timedelta(milliseconds=1)
                continue
            self.taken_at = taken_at
            return relative, file
        raise Conflict("too many snapshots of this attempt at once; retry")

    def recorded_as(self, path: str, size: int) -> SnapshotFile:
        assert self.taken_at is not None
        return SnapshotFile(self.session, uuid4(), path, size, self.taken_at)


RunCommand = Callable[..., Awaitable[Any]]  # the command lane's `run(command, *args)`


@dataclass(frozen=True)
class SnapshotIntake:
    """What the snapshot route needs besides the caller, as one dependency (each one FastAPI
    solves costs the event loop ~11 us per request): who may upload, and where it goes."""

    session_for: Callable[[Actor, UUID], ProctorSession]
    run: RunCommand
    pipeline: IngestPipeline[SnapshotFile]
    now: Callable[[], datetime]
    max_pixels: int

    async def authorize(self, actor: Actor, attempt_id: UUID) -> ProctorSession:
        """The caller's active session of that attempt, checked before the body is read."""
        session: ProctorSession = await self.run(self.session_for, actor, attempt_id)
        return session

    async def ingest(self, session: ProctorSession, body: AsyncIterable[bytes]) -> SnapshotFile:
        upload = SnapshotUpload(session, self.now, AllOf(JpegSnapshot(self.max_pixels), JpegDecodes()))
        return await self.pipeline.ingest(upload, body)

    def close(self) -> None:
        self.pipeline.close()


def snapshot_intake(
    app: SmartExamApp, storage: MediaStorage, settings: AppSettings, run: RunCommand
) -> SnapshotIntake:
    """The one place snapshot ingest calls into the application; `run` runs a command."""
    record = partial(evidence.record_snapshots, app)
    pipeline = IngestPipeline(record, storage, settings.max_snapshot_bytes, label="snapshot")
    now = lambda: app.clock.now()  # noqa: E731 - read at each upload: tests swap the clock
    authorize = partial(evidence.snapshot_session, app)
    return SnapshotIntake(authorize, run, pipeline, now, settings.max_snapshot_pixels)
