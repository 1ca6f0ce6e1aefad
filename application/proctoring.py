"""Proctoring commands on an attempt's session: evidence from the candidate, actions by staff."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.access import Actor, require_owner, require_role
from application.lifecycle import LifecycleApp
from domain import ids
from domain.attempts import Attempt
from domain.errors import Conflict, InvalidInput, NotFound
from domain.proctoring import CLIENT_EVENT_TYPES, ProctorSession

MAX_TEXT = 2000


def _text(value: str, field: str) -> str:
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{field} is longer than {MAX_TEXT} characters")
    return value


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
        session = self._session(attempt)
        if not session.is_active:
            raise Conflict(f"this attempt has ended ({attempt.status}); nothing more is accepted")
        return session

    def record_snapshot(
        self, session: ProctorSession, snapshot_id: UUID, path: str, size_bytes: int, taken_at: datetime
    ) -> int:
        """Records on the session `candidate_session` authorized before the upload. If it changed
        meanwhile (ended, say), optimistic concurrency makes the commit a 409."""
        session.take_snapshot(snapshot_id, path, size_bytes, taken_at)
        return self.commit(session)

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
