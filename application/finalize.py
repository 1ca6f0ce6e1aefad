"""The finalize process manager: closes an attempt's Recording when the attempt ends, and turns
closed recordings into one verified MP4, off the request path.

The work is claimed through the event store itself: a worker saves FinalizationStarted (with a
lease) at the version it read, so of two claimers on one machine or on several sharing
PostgreSQL, one gets a version conflict and moves on. No transaction is open while ffmpeg runs.
A crash between claim and result leaves a lease that runs out, and the next run claims again;
the MP4 is published atomically, so a re-run still leaves exactly one. Chunks are removed only
after RecordingFinalized is committed; a failure keeps them and is retried with backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from application.app import SmartExamApp
from application.ports import RecordingWorkList, SegmentInput, TranscodeError, Transcoder, TranscodeResult
from application.recordings import recording_of
from domain.attempts import Attempt
from domain.errors import Conflict, NotFound
from domain.recordings import Recording
from media_storage.recordings import RecordingFiles

log = logging.getLogger(__name__)
Progress = Callable[[float], None]
ENDING_EVENTS: dict[type, str] = {
    Attempt.Submitted: "submitted",
    Attempt.Expired: "expired",
    Attempt.ForceEnded: "force_ended",
}
RETRIES = 3


def close_recording(app: SmartExamApp, attempt_id: UUID, why: str, at: datetime) -> bool:
    """The attempt ended: close its Recording. Idempotent; False when there is nothing to do
    (no Recording, or already closed). A chunk saved meanwhile makes the save conflict: then
    it is decided again on the Recording as stored."""
    for _ in range(RETRIES):
        try:
            recording = recording_of(app, attempt_id)
        except NotFound:
            return False
        if not recording.close(why, at):
            return False
        try:
            app.commit(recording)
            return True
        except Conflict:
            continue
    raise Conflict(f"the recording of attempt {attempt_id} kept changing while it was closed")


AttemptEnd = Attempt.Submitted | Attempt.Expired | Attempt.ForceEnded


def on_attempt_ended(app: SmartExamApp, event: AttemptEnd) -> bool:
    """What the process manager's follower does on Attempt.Submitted / Expired / ForceEnded."""
    return close_recording(app, event.originator_id, ENDING_EVENTS[type(event)], event.ended_at)


def finalize_recording(
    app: SmartExamApp,
    transcoder: Transcoder,
    media: RecordingFiles,
    attempt_id: UUID,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    progress: Progress | None = None,
    *,
    ignore_backoff: bool = False,
) -> Recording:
    """Claims, transcodes what exists, records the result. Returns the Recording, Ready or
    Failed. Conflict: another worker holds or won the claim (or the recording is not
    claimable: still open, already finalized, waiting for its retry time); NotFound: no
    Recording. `ignore_backoff`: run by hand (`smart-exam recordings finalize`)."""
    recording = recording_of(app, attempt_id)
    recording.start_finalization(worker_id, now, lease, ignore_backoff=ignore_backoff)
    app.commit(recording)  # at the version read: a concurrent claimer's save conflicts
    began = time.monotonic()
    try:
        result = _transcode(transcoder, media, recording, worker_id, progress)
    except (TranscodeError, OSError) as error:
        retry_after = recording.fail(worker_id, str(error), app.clock.now())
        app.commit(recording)
        log.warning(
            "Video processing failed attempt=%s try=%d retry_after=%s reason=%s",
            attempt_id, recording.attempts, retry_after.isoformat(), str(error)[-300:],
        )  # fmt: skip
        return recording
    finally:
        media.remove_work(attempt_id, worker_id)
    recording.finalize(
        worker_id, media.recording_path(attempt_id), result.duration_seconds, result.size_bytes,
        result.sha256, result.codec_path, result.segment_durations, app.clock.now(),
    )  # fmt: skip
    app.commit(recording)  # Conflict: the lease ran out and another worker took over
    log.info(
        "Video processing completed attempt=%s duration=%.3fs codec_path=%s size=%d elapsed=%.2fs",
        attempt_id, result.duration_seconds, result.codec_path, result.size_bytes,
        time.monotonic() - began,
    )  # fmt: skip
    media.delete_chunks(attempt_id)  # only now: the verified MP4 is recorded as evidence
    media.remove_work(attempt_id)  # and what a crashed or overtaken worker left behind
    return recording


def _transcode(
    transcoder: Transcoder, media: RecordingFiles, recording: Recording, worker_id: str,
    progress: Progress | None,
) -> TranscodeResult:  # fmt: skip
    """The MP4 of what exists: every playable segment's held chunks in seq order (gaps are
    skipped here and reported by the aggregate), then checked once more as published."""
    playable = recording.playable_segments()
    if not playable:
        raise TranscodeError("finalize", "no playable video: every segment lacks its first chunk")
    segments = []
    for segment in playable:
        paths = recording.chunk_paths(segment)
        chunks = tuple(media.absolute(path) for path in paths)
        segments.append(SegmentInput(segment, chunks, expected_seconds=len(paths) * recording.chunk_seconds))
    output = media.absolute(media.recording_path(recording.attempt_id))
    work = media.work_dir(recording.attempt_id, worker_id)
    result = transcoder.finalize(segments, output, work, progress)
    if set(result.segment_durations) != set(playable):
        measured = sorted(result.segment_durations)
        raise TranscodeError("verify", f"durations measured for segments {measured}, not {playable}")
    if not output.is_file() or output.stat().st_size != result.size_bytes:
        raise TranscodeError("verify", f"{output.name} on disk is not the {result.size_bytes} bytes made")
    return result


def finalize_due(
    app: SmartExamApp,
    work_list: RecordingWorkList,
    transcoder: Transcoder,
    media: RecordingFiles,
    worker_id: str,
    lease: timedelta,
    grace_seconds: float,
) -> list[Recording]:
    """One round of the periodic loop: close what ended unseen, then finalize what is due, one
    at a time. Items another worker took, or that the lagging work list still shows, are
    skipped (Conflict). Returns the recordings this round finished (Ready or Failed)."""
    for attempt_id, why, ended_at in work_list.ended_but_open():
        try:
            close_recording(app, attempt_id, why, ended_at)
        except Conflict:
            continue
    done = []
    for attempt_id in work_list.due_for_finalization(app.clock.now(), grace_seconds):
        try:
            now = app.clock.now()
            done.append(finalize_recording(app, transcoder, media, attempt_id, worker_id, now, lease))
        except (Conflict, NotFound):
            continue
    return done
