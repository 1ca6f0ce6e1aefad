"""Recording chunks through the ingest pipeline: the caller's Recording is authorized first
(`authorize`, on the command lane), a chunk already held is answered before its body is read
(the same sha256: a duplicate; another one: 409), then the body is streamed to
`video-recordings/{attempt}/chunks/{K:03d}-{N:06d}.{ext}`, its sha256 checked as it arrives (and
a segment's first chunk's container header), and recorded as ChunkReceived on the Recording.

The file's final name is created with O_EXCL: of two uploads of one chunk racing past the
held check, one writes it and the other gets a Conflict without touching its file."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, BinaryIO
from uuid import UUID

from adapters.ingest.pipeline import IngestPipeline
from adapters.ingest.validators import AllOf, MediaContainerHeader, Sha256Matches, Validator
from application import recordings
from application.access import Actor
from application.app import SmartExamApp
from application.config import AppSettings
from application.recordings import ChunkFile
from domain.errors import Conflict, InvalidInput, NotFound, SmartExamError
from domain.recording_chunks import SHA, chunk_key
from domain.recordings import DUPLICATE, NEW, SHA256, Recording
from media_storage import MediaStorage
from media_storage.recordings import RecordingFiles, chunk_extension

STORED, ALREADY_HELD = "stored", "duplicate"
RunCommand = Callable[..., Awaitable[Any]]  # the command lane's `run(command, *args)`


class _HeldAlready(Exception):
    """Internal: the Recording already held these bytes when the stored chunk was recorded (its
    file, under another extension, is removed by the pipeline); the upload answers 200."""


class _NameTaken(Conflict):
    """Internal: the chunk's file exists: another request is storing it, or stored it and this
    process's copy of the Recording does not show it yet (another process recorded it)."""


@dataclass(frozen=True)
class ChunkRequest:
    """What the client says about a chunk, checked before anything is read: 422 / 415."""

    segment: int
    seq: int
    sha256: str
    mime: str
    final: bool = False

    @classmethod
    def parse(cls, segment: int, seq: int, sha256: str | None, mime: str, final: bool) -> ChunkRequest:
        digest = (sha256 or "").strip().lower()
        if not SHA256.fullmatch(digest):
            raise InvalidInput("send the chunk's sha256 as X-Chunk-Sha256: 64 hex digits")
        mime = mime.strip().lower()
        chunk_extension(mime)  # 415 for anything but the recorder's container types
        return cls(segment, seq, digest, mime, final)

    def path(self, attempt_id: UUID) -> str:
        return RecordingFiles.chunk_path(attempt_id, self.segment, self.seq, self.mime)


@dataclass
class ChunkUpload:
    """One chunk's file and what is recorded once it is complete, checked and fsynced."""

    recording: Recording
    chunk: ChunkRequest
    now: Callable[[], datetime]

    def __post_init__(self) -> None:
        self.sha = Sha256Matches(self.chunk.sha256)
        first = self.chunk.seq == 0  # a segment's first chunk carries its container header
        self.validator: Validator = AllOf(MediaContainerHeader(), self.sha) if first else self.sha

    def create(self, storage: MediaStorage) -> tuple[str, BinaryIO]:
        relative = self.chunk.path(self.recording.attempt_id)
        try:
            return relative, storage.create(relative)
        except Conflict:
            raise _NameTaken(
                f"chunk {self.chunk.segment}/{self.chunk.seq} is being stored by another request; retry"
            ) from None

    def recorded_as(self, path: str, size: int) -> ChunkFile:
        c = self.chunk
        digest, at = self.sha.hexdigest, self.now()
        return ChunkFile(self.recording, c.segment, c.seq, size, digest, c.mime, at, path, c.final)


@dataclass(frozen=True)
class ChunkIntake:
    """What the chunk route needs besides the caller, as one dependency."""

    enabled: bool  # SMART_EXAM_ENABLE_VIDEO_RECORDING
    recording_for: Callable[[Actor, UUID], Recording]
    stored_recording: Callable[[UUID], Recording]  # as stored now, not as this process last saw it
    run: RunCommand
    pipeline: IngestPipeline[ChunkFile]
    now: Callable[[], datetime]

    def require_enabled(self) -> None:
        if not self.enabled:
            raise NotFound("video recording is disabled on this server")

    async def authorize(self, actor: Actor, attempt_id: UUID) -> Recording:
        """The caller's Recording of that attempt (a new, unsaved one for its first chunk),
        checked before the body is read: 404 / 403 / 410."""
        self.require_enabled()
        recording: Recording = await self.run(self.recording_for, actor, attempt_id)
        return recording

    @staticmethod
    def held(recording: Recording, chunk: ChunkRequest) -> bool:
        """True when these bytes are held already (answer 200, read nothing); Conflict when
        other bytes are; False when the chunk is new."""
        held = recording.chunks.get(chunk_key(chunk.segment, chunk.seq))
        if held is None:
            return False
        if held[SHA] != chunk.sha256:
            raise Conflict(f"chunk {chunk.segment}/{chunk.seq} is already held with other bytes")
        return True

    async def ingest(self, recording: Recording, chunk: ChunkRequest, body: AsyncIterable[bytes]) -> str:
        """STORED (file durable, ChunkReceived committed) or ALREADY_HELD (nothing new kept)."""
        if self.held(recording, chunk):
            return ALREADY_HELD
        try:
            await self.pipeline.ingest(ChunkUpload(recording, chunk, self.now), body)
        except _HeldAlready:
            return ALREADY_HELD
        except _NameTaken as taken:
            try:
                stored: Recording = await self.run(self.stored_recording, recording.attempt_id)
            except NotFound:  # its first chunk is still on its way
                raise Conflict(taken.detail) from None
            if self.held(stored, chunk):
                return ALREADY_HELD
            raise Conflict(taken.detail) from None
        return STORED

    def close(self) -> None:
        self.pipeline.close()


def record_new_chunks(app: SmartExamApp, files: Sequence[ChunkFile]) -> list[str | Exception]:
    """The app's record_chunks, with a duplicate decided at record time made a refusal, so the
    pipeline removes its file (the held chunk keeps its own)."""
    outcomes: list[str | Exception] = []
    for outcome in recordings.record_chunks(app, files):
        if isinstance(outcome, SmartExamError) or outcome == NEW:
            outcomes.append(outcome)
        else:
            assert outcome == DUPLICATE
            outcomes.append(_HeldAlready())
    return outcomes


def chunk_intake(
    app: SmartExamApp, storage: MediaStorage, settings: AppSettings, run: RunCommand
) -> ChunkIntake:
    """The one place chunk ingest calls into the application; `run` runs a command."""
    record = partial(record_new_chunks, app)
    pipeline = IngestPipeline(record, storage, settings.max_chunk_bytes, label="chunk")
    now = lambda: app.clock.now()  # noqa: E731 - read at each upload: tests swap the clock
    authorize = partial(recordings.chunk_recording, app)
    stored = partial(recordings.recording_of, app)
    return ChunkIntake(settings.enable_video_recording, authorize, stored, run, pipeline, now)
