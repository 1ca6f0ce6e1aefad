"""Seeds attempts with real recorded chunks through the product's own commands: users, a
proctored exam, a started attempt, lavfi Matroska/H.264 chunks stored by RecordingFiles and
recorded with application/recordings.record_chunks (as the chunk route's group commit does)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from recording_media import H264_MKV, lavfi_recording, split_bytes

from application import attempts, exams, recordings, users
from application.access import Actor
from application.app import SmartExamApp
from domain.errors import SmartExamError
from media_storage import MediaStorage
from media_storage.recordings import RecordingFiles

PASSWORD = "password-123"
QUESTIONS = [{"id": "q1", "text": "2 + 2 = ?", "choices": ["3", "4"], "answer": 1}]


def clip_chunks(folder: Path, seconds: float = 4.0, parts: int = 4) -> list[bytes]:
    return split_bytes(lavfi_recording(folder / f"clip{seconds}.mkv", seconds, "h264"), parts)


@dataclass
class Seeded:
    app: SmartExamApp
    admin: Actor
    candidate: Actor
    exam_id: UUID


def seed(app: SmartExamApp, candidates: int = 1) -> list[Seeded]:
    def actor(name: str, role: str) -> Actor:
        user = users.register_user(app, name, PASSWORD, role, name.title())
        return Actor(user.id, role, user.display_name)

    admin = actor("admin", "admin")
    actor("proctor", "proctor")
    exam_id = exams.create_exam(app, admin, "Recorded", 600, True, QUESTIONS, 1).id
    return [Seeded(app, admin, actor(f"cand{i}", "candidate"), exam_id) for i in range(candidates)]


def record(
    app: SmartExamApp, candidate: Actor, attempt_id: UUID, media: MediaStorage, chunks: list[bytes]
) -> None:
    """One segment, each chunk stored then recorded; the last one marked final."""
    files = RecordingFiles(media)
    for seq, data in enumerate(chunks):
        recording = recordings.chunk_recording(app, candidate, attempt_id)
        path = files.save_chunk(attempt_id, 0, seq, H264_MKV, data)
        digest = hashlib.sha256(data).hexdigest()
        chunk = recordings.ChunkFile(recording, 0, seq, len(data), digest, H264_MKV, app.clock.now(), path,
                                     final=seq == len(chunks) - 1)  # fmt: skip
        (outcome,) = recordings.record_chunks(app, [chunk])
        if isinstance(outcome, SmartExamError):
            raise outcome


def recorded_attempt(who: Seeded, media: MediaStorage, chunks: list[bytes], submit: bool = True) -> UUID:
    attempt_id = attempts.start_attempt(who.app, who.candidate, who.exam_id).id
    record(who.app, who.candidate, attempt_id, media, chunks)
    if submit:
        attempts.submit(who.app, who.candidate, attempt_id)
    return attempt_id


def event_names(app: SmartExamApp, attempt_id: UUID) -> list[str]:
    from domain import ids

    return [type(e).__name__ for e in app.events.get(ids.recording_id(attempt_id))]
