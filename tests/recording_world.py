"""A seeded world for the server-recording tests: an app on a given store, an admin, a proctor,
candidates, a proctored and an open-book exam, chunk uploads through the real command
functions onto real files, and a way to run a projection up to the end of the log."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from fakes import FakeClock, PlainHasher

from application import attempts, exams, recordings, users
from application.access import Actor
from application.app import SmartExamApp
from domain.errors import SmartExamError
from domain.recordings import Recording
from media_storage import MediaStorage
from media_storage.recordings import RecordingFiles

MKV = "video/x-matroska;codecs=avc1,opus"
QUESTIONS: list[Any] = [{"id": "q1", "text": "2 + 2 = ?", "choices": ["3", "4"], "answer": 1}]


@dataclass
class World:
    app: SmartExamApp
    clock: FakeClock
    files: RecordingFiles
    admin: Actor
    proctor: Actor
    candidates: list[Actor]
    proctored: UUID
    open_book: UUID
    data: dict[tuple[UUID, int, int], bytes] = field(default_factory=dict)

    def start(self, candidate: int = 0, exam: UUID | None = None) -> UUID:
        return attempts.start_attempt(self.app, self.candidates[candidate], exam or self.proctored).id

    def stored(self, attempt_id: UUID, segment: int, seq: int, data: bytes, mime: str = MKV) -> str:
        """The chunk's file, as the ingest pipeline leaves it (fsynced) before recording it."""
        relative = self.files.chunk_path(attempt_id, segment, seq, mime)
        if not self.files.absolute(relative).exists():
            self.files.storage.save(relative, data)
        return relative

    def chunk(
        self, attempt_id: UUID, segment: int, seq: int, data: bytes | None = None, *, candidate: int = 0,
        final: bool = False, mime: str = MKV,
    ) -> recordings.ChunkFile:  # fmt: skip
        """Authorized (before the body) and stored, ready for `record_chunks`."""
        data = data if data is not None else f"chunk {segment}/{seq}".encode()
        recording = recordings.chunk_recording(self.app, self.candidates[candidate], attempt_id)
        path = self.stored(attempt_id, segment, seq, data, mime)
        digest = hashlib.sha256(data).hexdigest()
        at = self.clock.now()
        return recordings.ChunkFile(recording, segment, seq, len(data), digest, mime, at, path, final)

    def send(self, attempt_id: UUID, segment: int, seq: int, data: bytes | None = None, **kw: Any) -> str:
        """One chunk, recorded alone; raises the refusal."""
        (outcome,) = recordings.record_chunks(self.app, [self.chunk(attempt_id, segment, seq, data, **kw)])
        if isinstance(outcome, SmartExamError):
            raise outcome
        return outcome

    def send_segments(
        self, attempt_id: UUID, segments: list[list[bytes]], pause_seconds: float = 0.0,
        drop: frozenset[tuple[int, int]] = frozenset(), final: bool = True,
    ) -> None:  # fmt: skip
        """Each chunk recorded as it would arrive: one chunk_seconds after the previous one."""
        for segment, chunks in enumerate(segments):
            if segment:
                self.clock.advance(pause_seconds)
            for seq, data in enumerate(chunks):
                self.clock.advance(self.app.chunk_seconds)
                if (segment, seq) not in drop:
                    self.send(attempt_id, segment, seq, data, final=final and seq == len(chunks) - 1)

    def recording(self, attempt_id: UUID) -> Recording:
        return recordings.recording_of(self.app, attempt_id)


def make_world(env: Mapping[str, str], root: Any, clock: FakeClock, candidates: int = 2) -> World:
    app = SmartExamApp(env=env, clock=clock, hasher=PlainHasher(), chunk_seconds=1.0)

    def actor(name: str, role: str) -> Actor:
        user = users.register_user(app, name, "password-123", role, name.title())
        return Actor(user.id, role, user.display_name)

    admin, proctor = actor("admin", "admin"), actor("proctor", "proctor")
    people = [actor(f"cand{i}", "candidate") for i in range(candidates)]
    proctored = exams.create_exam(app, admin, "Proctored", 600, True, QUESTIONS, 1).id
    open_book = exams.create_exam(app, admin, "Open book", 600, False, QUESTIONS, 1).id
    files = RecordingFiles(MediaStorage(root))
    return World(app, clock, files, admin, proctor, people, proctored, open_book)


def project(app: SmartExamApp, projection: Projection[Any]) -> int:
    """Applies every event the projection follows after its view's position (one batch)."""
    view = projection.view
    start = view.max_tracking_id(app.name) or 0
    notifications = app.recorder.select_notifications(
        start, 100_000, topics=projection.topics, inclusive_of_start=False
    )
    with view.batch():
        for notification in notifications:
            event = app.mapper.to_domain_event(notification)
            projection.process_event(event, Tracking(app.name, notification.id))
    return len(notifications)


def events_of(app: SmartExamApp, attempt_id: UUID) -> list[str]:
    """The Recording's event names, oldest first."""
    from domain import ids

    return [type(e).__name__ for e in app.events.get(ids.recording_id(attempt_id))]
