"""Server recording, the candidate's side: authorizing a chunk upload before its body is read,
recording batches of stored chunks (the group commit calls it), and what is held so far.

A Recording is created by its attempt's first chunk; its id derives from the attempt id, so two
creators racing both try to save version 1: one wins, the other decides again on what won."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.access import Actor, require_owner, require_owner_or_staff
from application.app import SmartExamApp
from domain import ids
from domain.attempts import CANCELLED, EXPIRED, SUBMITTED, Attempt
from domain.errors import Conflict, Gone, NotFound, SmartExamError
from domain.recordings import NEW, Recording

CLOSE_REASON = {SUBMITTED: "submitted", EXPIRED: "expired", CANCELLED: "force_ended"}
RETRIES = 3  # deciding alone: a concurrent writer may win more than once in a row


class ChunkFile(NamedTuple):
    """A chunk stored on disk (file and folder fsynced), to be recorded on the Recording that
    authorized its upload (`chunk_recording`)."""

    recording: Recording
    segment: int
    seq: int
    size_bytes: int
    sha256: str
    mime: str
    received_at: datetime
    path: str
    final: bool = False


def recording_of(app: SmartExamApp, attempt_id: UUID) -> Recording:
    """The attempt's Recording, from the store; NotFound when it has none (yet)."""
    return app.load(Recording, ids.recording_id(attempt_id), "recording")


def chunk_recording(app: SmartExamApp, actor: Actor, attempt_id: UUID) -> Recording:
    """Authorizes a chunk upload before its body is read, asking the store nothing on the hot
    path (the aggregates as this process last saw them; `record_chunks` decides again on the
    stored ones if anything changed meanwhile). Returns the attempt's Recording, or a new one
    (not saved) for its first chunk. An attempt that ended still takes chunks until
    finalization begins: the last chunk is sent after submit."""
    if not app.video_recording:
        raise NotFound("video recording is disabled on this server")
    attempt = app.peek(Attempt, attempt_id, "attempt")
    require_owner(actor, attempt.candidate_id)
    if attempt.proctor_session_id is None:
        raise NotFound("this exam is not proctored, so its attempts are not recorded")
    try:
        recording = app.peek(Recording, ids.recording_id(attempt_id), "recording")
    except NotFound:
        return _new_recording(app, attempt)
    _require_open_to_chunks(recording)
    return recording


def _new_recording(app: SmartExamApp, attempt: Attempt) -> Recording:
    """The first chunk's Recording; closed at once when the attempt has already ended (its end
    was seen before this Recording existed, so nothing else would close it)."""
    recording = Recording(attempt_id=attempt.id, chunk_seconds=app.chunk_seconds, started_at=app.clock.now())
    if not attempt.is_active and attempt.ended_at is not None:
        recording.close(CLOSE_REASON[attempt.status], attempt.ended_at)
    return recording


def _require_open_to_chunks(recording: Recording) -> None:
    if recording.finalization_began or recording.deleted_at is not None:
        raise Gone(f"the recording of attempt {recording.attempt_id} is already being finalized")


def _receive(recording: Recording, file: ChunkFile) -> str:
    return recording.receive_chunk(
        file.segment, file.seq, file.size_bytes, file.sha256, file.mime, file.received_at, file.path,
        final=file.final,
    )  # fmt: skip


def record_chunks(app: SmartExamApp, files: Sequence[ChunkFile]) -> list[str | SmartExamError]:
    """Records a batch of stored chunks in ONE transaction; returns per file NEW, DUPLICATE
    (the same bytes are held: no event) or why it was refused. Chunks of one attempt go onto
    one Recording. If any Recording changed meanwhile (another process, a finalizer's claim)
    or two creators raced, each chunk is decided again on its Recording as stored, alone."""
    recordings: dict[UUID, Recording] = {}
    for file in files:  # the newest copy of each Recording carries all of its chunks
        held = recordings.get(file.recording.id)
        if held is None or file.recording.version > held.version:
            recordings[file.recording.id] = file.recording
    results: list[str | SmartExamError] = []
    changed: dict[UUID, Recording] = {}
    for file in files:
        recording = recordings[file.recording.id]
        outcome: str | SmartExamError
        try:
            outcome = _receive(recording, file)
        except SmartExamError as error:  # decided before any event: the Recording is unchanged
            outcome = error
        if outcome == NEW:
            changed[recording.id] = recording
        results.append(outcome)
    if not changed:
        return results  # duplicates and refusals only: nothing to record (not even a new Recording)
    try:
        app.save(*changed.values())
    except IntegrityError:
        app.forget(*changed.values())
        return [_record_alone(app, file) for file in files]
    app.remember(*changed.values())
    return results


def _record_alone(app: SmartExamApp, file: ChunkFile) -> str | SmartExamError:
    attempt_id = file.recording.attempt_id
    for _ in range(RETRIES):
        try:
            try:
                recording = recording_of(app, attempt_id)
            except NotFound:
                recording = _new_recording(app, app.load(Attempt, attempt_id, "attempt"))
            outcome = _receive(recording, file)
            if outcome == NEW:
                app.save(recording)
                app.remember(recording)
            return outcome
        except IntegrityError:
            app.forget(file.recording)
            continue
        except SmartExamError as error:
            return error
    return Conflict("the recording kept changing while this chunk was recorded; retry")


def chunk_status(app: SmartExamApp, actor: Actor, attempt_id: UUID) -> list[dict[str, Any]]:
    """For the owner (resuming after a reload) or staff: per segment what is held, what is
    missing, the highest contiguous seq, and whether its final chunk arrived. Read from the
    store, not the cache: a client trusts it to decide what to send again."""
    return list(chunk_report(app, actor, attempt_id)["segments"])


def chunk_report(app: SmartExamApp, actor: Actor, attempt_id: UUID) -> dict[str, Any]:
    """`chunk_status`'s segments and the Recording's status ("None" before its first chunk)."""
    attempt = app.load(Attempt, attempt_id, "attempt")
    require_owner_or_staff(actor, attempt.candidate_id)
    try:
        recording = recording_of(app, attempt_id)
    except NotFound:
        return {"status": "None", "segments": []}
    segments = [
        {**segment, "final": str(segment["segment"]) in recording.final_seqs}
        for segment in recording.segment_status()
    ]
    return {"status": recording.status, "segments": segments}
