"""Proctoring commands on an attempt's session: evidence from the candidate, actions by staff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.access import Actor, require_owner, require_owner_or_staff, require_role
from application.lifecycle import LifecycleApp
from domain import ids
from domain.attempts import Attempt
from domain.errors import Conflict, InvalidInput, NotFound, SmartExamError
from domain.proctoring import CLIENT_EVENT_TYPES, ProctorSession

MAX_TEXT = 2000


def _text(value: str, field: str) -> str:
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{field} is longer than {MAX_TEXT} characters")
    return value


class SnapshotFile(NamedTuple):
    """A snapshot stored on disk, to be recorded on the session that authorized its upload."""

    session: ProctorSession
    snapshot_id: UUID
    path: str
    size_bytes: int
    taken_at: datetime


class SmartExamApp(LifecycleApp):
    name = "SmartExam"

    def _session(self, attempt: Attempt) -> ProctorSession:
        session = self.load_session(attempt)
        if session is None:
            raise NotFound("proctoring is not enabled for this attempt")
        return session

    def _refuse_samples(self, attempt_id: UUID) -> None:
        if attempt_id in ids.SAMPLE_ATTEMPT_IDS:
            raise Conflict("sample sessions are for display only; actions are disabled")

    def candidate_session(self, actor: Actor, attempt_id: UUID) -> ProctorSession:
        """The active session of the caller's own attempt, for evidence uploads."""
        attempt = self.read_attempt(actor, attempt_id)
        require_owner(actor, attempt.candidate_id)
        return self._active(self._session(attempt), attempt.status)

    def snapshot_session(self, actor: Actor, attempt_id: UUID) -> ProctorSession:
        """`candidate_session` as this process last saw it, asking the store nothing: checked
        before a snapshot's body is read, and `record_snapshots` decides again on the session
        as it is if anything changed meanwhile. A deadline that has passed is a fresh read."""
        attempt = self.peek(Attempt, attempt_id, "attempt")
        require_owner_or_staff(actor, attempt.candidate_id)
        if attempt.is_overdue(self.clock.now()):
            return self.candidate_session(actor, attempt_id)
        require_owner(actor, attempt.candidate_id)
        if attempt.proctor_session_id is None:
            raise NotFound("proctoring is not enabled for this attempt")
        session = self.peek(ProctorSession, attempt.proctor_session_id, "proctor session")
        return self._active(session, attempt.status)

    @staticmethod
    def _active(session: ProctorSession, status: str) -> ProctorSession:
        if not session.is_active:
            raise Conflict(f"this attempt has ended ({status}); nothing more is accepted")
        return session

    def record_snapshots(self, files: Sequence[SnapshotFile]) -> list[int | SmartExamError]:
        """Records a batch of snapshots in one transaction, each on the session that authorized
        its upload; returns each one's position, or why it was refused. If any session changed
        meanwhile (another upload of the same attempt, or the attempt ended), each snapshot is
        decided again on its session as it is now, and saved alone."""
        sessions = [file.session for file in files]
        try:
            for file in files:
                file.session.take_snapshot(file.snapshot_id, file.path, file.size_bytes, file.taken_at)
            recordings = self.save(*sessions)
        except (IntegrityError, SmartExamError):
            self._forget(*sessions)
            return [self._record_alone(file) for file in files]
        self._remember(*sessions)
        positions = {r.domain_event.originator_id: r.notification.id for r in recordings}
        return [positions[session.id] for session in sessions]

    def _record_alone(self, file: SnapshotFile) -> int | SmartExamError:
        try:
            session = self.load(ProctorSession, file.session.id, "proctor session")
            session.take_snapshot(file.snapshot_id, file.path, file.size_bytes, file.taken_at)
            return self.commit(session)
        except SmartExamError as error:
            return error

    def record_client_event(self, actor: Actor, attempt_id: UUID, type: str, detail: str) -> int:
        if type not in CLIENT_EVENT_TYPES:
            raise InvalidInput(f"unknown event type {type!r}; allowed: {sorted(CLIENT_EVENT_TYPES)}")
        session = self.candidate_session(actor, attempt_id)
        session.record_event(type, _text(detail, "detail"), self.clock.now())
        return self.commit(session)

    def staff_session(self, actor: Actor, attempt_id: UUID) -> ProctorSession:
        require_role(actor, "proctor", "admin")
        self._refuse_samples(attempt_id)
        session = self._session(self.load(Attempt, attempt_id, "attempt"))
        return session

    def flag(self, actor: Actor, attempt_id: UUID, note: str) -> int:
        session = self.staff_session(actor, attempt_id)
        session.flag(actor.user_id, _text(note, "note"), self.clock.now())
        return self.commit(session)

    def warn(self, actor: Actor, attempt_id: UUID, message: str) -> int:
        message = _text(message, "message")
        if not message:
            raise InvalidInput("message must not be empty")
        session = self.staff_session(actor, attempt_id)
        session.warn(actor.user_id, message, self.clock.now())
        return self.commit(session)

    def terminate(self, actor: Actor, attempt_id: UUID, reason: str) -> Attempt:
        self._refuse_samples(attempt_id)
        return self.force_end(actor, attempt_id, _text(reason, "reason") or "terminated by proctor")
