"""The server recording of one attempt: chunks held, closing, finalization claimed through the
event store (a lease), the result, deletion. Kept apart from ProctorSession so that an hour of
chunks (1,200 events) never makes the session's commands slow; snapshotted (the state is flat
and JSON-safe: string keys, lists, so a snapshot restores exactly what replay builds)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.errors import Conflict, Gone, InvalidInput
from domain.flat_state import FlatState
from domain.recording_chunks import SHA, SIZE, HeldChunks, chunk_key

RECORDING, PROCESSING, READY, FAILED, DELETED = "Recording", "Processing", "Ready", "Failed", "Deleted"
RECORDING_STATUSES = (RECORDING, PROCESSING, READY, FAILED, DELETED)
CLOSE_REASONS = ("submitted", "expired", "force_ended")
CODEC_PATHS = ("remux", "transcode")
NEW, DUPLICATE = "new", "duplicate"
MAX_SEGMENT, MAX_SEQ = 999, 999_999  # the file layout's {segment:03d}-{seq:06d}
SHA256 = re.compile(r"[0-9a-f]{64}")
FIRST_RETRY, LAST_RETRY = timedelta(seconds=30), timedelta(hours=1)

def retry_delay(attempt: int) -> timedelta:
    """Backoff after the n-th failed finalization: 30 s, 1 min, 2 min ... at most 1 h."""
    return min(FIRST_RETRY * (1 << min(max(0, attempt - 1), 20)), LAST_RETRY)


class Recording(HeldChunks, FlatState, Aggregate):
    """Created with the first chunk (or by whoever first needs it); one per attempt."""

    TOPIC = "smart_exam.Recording"

    class Created(Aggregate.Created):
        TOPIC = "smart_exam.Recording.Created"

    class RecordingStarted(Aggregate.Created):
        TOPIC = "smart_exam.Recording.RecordingStarted"
        attempt_id: UUID
        chunk_seconds: float
        started_at: datetime

    class ChunkReceived(Aggregate.Event):
        TOPIC = "smart_exam.Recording.ChunkReceived"
        segment: int
        seq: int
        size_bytes: int
        sha256: str
        mime: str
        received_at: datetime
        path: str
        final: bool  # the recorder's last chunk of this segment (it stopped: submit, camera off)

    class RecordingClosed(Aggregate.Event):
        TOPIC = "smart_exam.Recording.RecordingClosed"
        why: str
        at: datetime

    class FinalizationStarted(Aggregate.Event):
        TOPIC = "smart_exam.Recording.FinalizationStarted"
        worker: str
        lease_until: datetime
        at: datetime

    class RecordingFinalized(Aggregate.Event):
        TOPIC = "smart_exam.Recording.RecordingFinalized"
        path: str
        duration_seconds: float
        size_bytes: int
        sha256: str
        codec_path: str
        segments: list[dict[str, Any]]
        gaps: list[dict[str, Any]]
        at: datetime

    class RecordingFailed(Aggregate.Event):
        TOPIC = "smart_exam.Recording.RecordingFailed"
        reason: str
        attempt: int
        retry_after: datetime
        at: datetime

    class RecordingDeleted(Aggregate.Event):
        TOPIC = "smart_exam.Recording.RecordingDeleted"
        by: UUID | None  # None: the retention sweep
        why: str
        at: datetime

    @staticmethod
    def create_id(attempt_id: UUID, **_: object) -> UUID:
        return ids.recording_id(attempt_id)

    @event(RecordingStarted)
    def __init__(self, attempt_id: UUID, chunk_seconds: float, started_at: datetime) -> None:
        self.attempt_id = attempt_id
        self.chunk_seconds = chunk_seconds
        self.started_at = started_at
        self.chunks: dict[str, list[Any]] = {}  # chunk_key -> [sha256, size, received_at, mime, path]
        self.final_seqs: dict[str, int] = {}  # str(segment) -> the seq of its final chunk
        self.total_bytes = 0
        self.closed_at: datetime | None = None
        self.close_reason: str | None = None
        self.finalization_began = False
        self.lease_worker: str | None = None
        self.lease_until: datetime | None = None
        self.attempts = 0
        self.retry_after: datetime | None = None
        self.failure_reason: str | None = None
        self.result: dict[str, Any] | None = None  # RecordingFinalized's facts
        self.deleted_at: datetime | None = None

    # -- status ----------------------------------------------------------------------------------
    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def is_ready(self) -> bool:
        return self.result is not None and self.deleted_at is None

    @property
    def status(self) -> str:
        if self.deleted_at is not None:
            return DELETED
        if self.result is not None:
            return READY
        if self.failure_reason is not None and self.lease_worker is None:
            return FAILED
        return PROCESSING if self.is_closed else RECORDING

    def lease_is_held(self, now: datetime) -> bool:
        return self.lease_worker is not None and self.lease_until is not None and now < self.lease_until

    # -- chunks ----------------------------------------------------------------------------------
    def receive_chunk(
        self, segment: int, seq: int, size_bytes: int, sha256: str, mime: str, at: datetime, path: str,
        *, final: bool = False,
    ) -> str:  # fmt: skip
        """NEW (ChunkReceived recorded) or DUPLICATE (the same bytes are held: nothing recorded).
        Other bytes for a held (segment, seq), or a chunk after its segment's final one:
        Conflict. After finalization began: Gone."""
        if not (0 <= segment <= MAX_SEGMENT and 0 <= seq <= MAX_SEQ):
            raise InvalidInput(f"segment must be 0..{MAX_SEGMENT} and seq 0..{MAX_SEQ}")
        if not SHA256.fullmatch(sha256):
            raise InvalidInput("sha256 must be 64 lowercase hex digits")
        if size_bytes <= 0:
            raise InvalidInput("a chunk cannot be empty")
        if self.finalization_began or self.deleted_at is not None:
            raise Gone(f"the recording of attempt {self.attempt_id} is already being finalized")
        held = self.chunks.get(chunk_key(segment, seq))
        if held is not None:
            if held[SHA] == sha256 and held[SIZE] == size_bytes:
                return DUPLICATE
            raise Conflict(f"chunk {segment}/{seq} is already held with other bytes")
        last = self.final_seqs.get(str(segment))
        if last is not None and seq > last:
            raise Conflict(f"segment {segment} ended with chunk {last}")
        if final and any(held_seq > seq for held_seq in self.received().get(segment, {})):
            raise Conflict(f"segment {segment} has chunks after {seq}, which cannot be its last")
        mime = mime.strip().lower()
        segment_mime = self.segment_mime(segment)
        if segment_mime is not None and segment_mime != mime:
            raise InvalidInput(f"segment {segment} is recorded as {segment_mime}, not {mime}")
        self._chunk_received(
            segment=segment, seq=seq, size_bytes=size_bytes, sha256=sha256, mime=mime, received_at=at,
            path=path, final=final,
        )  # fmt: skip
        return NEW

    @event(ChunkReceived)
    def _chunk_received(
        self, segment: int, seq: int, size_bytes: int, sha256: str, mime: str, received_at: datetime,
        path: str, final: bool,
    ) -> None:  # fmt: skip
        self.chunks[chunk_key(segment, seq)] = [sha256, size_bytes, received_at, mime, path]
        self.total_bytes += size_bytes
        if final:
            self.final_seqs[str(segment)] = seq

    # -- work ------------------------------------------------------------------------------------
    def is_due(self, now: datetime, grace: timedelta) -> bool:
        """What the work list offers a finalizer (the recordings read model says the same in
        SQL): closed and complete, or closed for the grace period; a failure whose retry time
        came; a claim whose lease ran out. `start_finalization` still decides."""
        if self.closed_at is None or self.result is not None or self.deleted_at is not None:
            return False
        if self.lease_worker is not None:
            return not self.lease_is_held(now)
        if self.failure_reason is not None:
            return self.retry_after is None or now >= self.retry_after
        return self.all_segments_final or now >= self.closed_at + grace

    # -- closing ---------------------------------------------------------------------------------
    def close(self, why: str, at: datetime) -> bool:
        """The attempt ended: no more recording. Chunks already on their way are still accepted
        until finalization begins. False (nothing recorded) when already closed."""
        if why not in CLOSE_REASONS:
            raise InvalidInput(f"why must be one of: {', '.join(CLOSE_REASONS)}")
        if self.is_closed:
            return False
        self._closed(why=why, at=at)
        return True

    @event(RecordingClosed)
    def _closed(self, why: str, at: datetime) -> None:
        self.closed_at, self.close_reason = at, why

    # -- finalization: claimed with a lease ------------------------------------------------------
    def start_finalization(
        self, worker: str, now: datetime, lease: timedelta, *, ignore_backoff: bool = False
    ) -> None:
        """Claims the work: saved at the version read, so of two claimers one gets a version
        conflict. Refused (Conflict) while open, once finalized or deleted, while another
        worker's lease is fresh, and before a failure's retry time (unless `ignore_backoff`)."""
        if not self.is_closed:
            raise Conflict("the recording is still open")
        if self.result is not None or self.deleted_at is not None:
            raise Conflict(f"the recording is already {self.status}")
        if self.lease_is_held(now) and self.lease_worker != worker:
            raise Conflict(f"worker {self.lease_worker} is finalizing until {self.lease_until}")
        if not ignore_backoff and self.retry_after is not None and now < self.retry_after:
            raise Conflict(f"finalization is retried after {self.retry_after}")
        self._finalization_started(worker=worker, lease_until=now + lease, at=now)

    @event(FinalizationStarted)
    def _finalization_started(self, worker: str, lease_until: datetime, at: datetime) -> None:
        self.finalization_began = True
        self.lease_worker, self.lease_until = worker, lease_until
        self.attempts += 1

    def _require_lease(self, worker: str) -> None:
        if self.result is not None or self.deleted_at is not None:
            raise Conflict(f"the recording is already {self.status}")
        if self.lease_worker != worker:
            raise Conflict(f"worker {worker} does not hold the finalization lease")

    def finalize(
        self, worker: str, path: str, duration_seconds: float, size_bytes: int, sha256: str,
        codec_path: str, durations: dict[int, float], at: datetime,
    ) -> None:  # fmt: skip
        """Records the verified MP4, with the segment map and the gaps computed from the facts
        and each segment's measured video duration. Only the lease holder may."""
        self._require_lease(worker)
        if codec_path not in CODEC_PATHS:
            raise InvalidInput(f"codec_path must be one of: {', '.join(CODEC_PATHS)}")
        self._finalized(
            path=path,
            duration_seconds=duration_seconds,
            size_bytes=size_bytes,
            sha256=sha256,
            codec_path=codec_path,
            segments=self.segment_map(durations),
            gaps=[gap.as_dict() for gap in self.gaps(durations)],
            at=at,
        )

    @event(RecordingFinalized)
    def _finalized(
        self, path: str, duration_seconds: float, size_bytes: int, sha256: str, codec_path: str,
        segments: list[dict[str, Any]], gaps: list[dict[str, Any]], at: datetime,
    ) -> None:  # fmt: skip
        self.result = {
            "path": path, "duration_seconds": duration_seconds, "size_bytes": size_bytes,
            "sha256": sha256, "codec_path": codec_path, "segments": segments, "gaps": gaps, "at": at,
        }  # fmt: skip
        self.lease_worker = self.lease_until = None
        self.failure_reason = self.retry_after = None

    def fail(self, worker: str, reason: str, at: datetime) -> datetime:
        """Releases the lease; chunks are kept. Returns when a retry may claim it again."""
        self._require_lease(worker)
        retry_after = at + retry_delay(self.attempts)
        self._failed(reason=reason[-2000:], attempt=self.attempts, retry_after=retry_after, at=at)
        return retry_after

    @event(RecordingFailed)
    def _failed(self, reason: str, attempt: int, retry_after: datetime, at: datetime) -> None:
        self.failure_reason, self.retry_after = reason, retry_after
        self.lease_worker = self.lease_until = None

    # -- deletion --------------------------------------------------------------------------------
    def delete(self, by: UUID | None, why: str, at: datetime) -> None:
        if self.status not in (READY, FAILED):
            raise Conflict(f"a recording that is {self.status} cannot be deleted")
        self._deleted(by=by, why=why, at=at)

    @event(RecordingDeleted)
    def _deleted(self, by: UUID | None, why: str, at: datetime) -> None:
        self.deleted_at = at
