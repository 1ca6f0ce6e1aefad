"""Attempt lifecycle: start (with its proctor session), answer, submit, expire, force-end.

Policy: submit ⇒ session Completed; natural expiry ⇒ Completed; force-end ⇒ Cancelled.
Attempt and session always change in one transaction, so nothing is ever half-written.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.access import Actor, require_owner, require_owner_or_staff, require_role
from application.app import CoreApp
from domain import ids
from domain.attempts import Attempt
from domain.errors import Conflict, InvalidInput, NotFound
from domain.proctoring import ProctorSession

log = logging.getLogger(__name__)


class LifecycleApp(CoreApp):
    name = "SmartExam"

    def start_attempt(self, actor: Actor, exam_id: UUID) -> Attempt:
        """Idempotent: a repeated start returns the same attempt and session. The attempt id
        is derived from exam and candidate, so a repeat fails to save version 1 and reads what
        is there instead (a first start, the common case, costs no read)."""
        require_role(actor, "candidate")
        exam = self.get_exam(exam_id)
        attempt_id = ids.attempt_id(exam_id, actor.user_id)
        now = self.clock.now()
        session_id = ids.proctor_session_id(attempt_id) if exam.proctoring_enabled else None
        attempt = Attempt(
            exam_id=exam_id,
            candidate_id=actor.user_id,
            started_at=now,
            deadline=now + timedelta(seconds=exam.duration_seconds),
            proctor_session_id=session_id,
        )
        session = None
        if session_id is not None:
            session = ProctorSession(
                attempt_id=attempt_id, exam_id=exam_id, candidate_id=actor.user_id, started_at=now
            )
        try:
            self.save(attempt, session)
        except IntegrityError:  # started before (or just now, concurrently): return that one
            return self.read_attempt(actor, attempt_id)
        self._remember(attempt, session)
        return attempt

    def read_attempt(self, actor: Actor, attempt_id: UUID) -> Attempt:
        """Reads the attempt, expiring it first if its time is up (expiry on read)."""
        attempt = self.load(Attempt, attempt_id, "attempt")
        require_owner_or_staff(actor, attempt.candidate_id)
        if attempt.is_overdue(self.clock.now()):
            with contextlib.suppress(Conflict):  # someone else ended it meanwhile
                self.expire(attempt_id)
            attempt = self.load(Attempt, attempt_id, "attempt")
        return attempt

    def load_attempt(self, attempt_id: UUID) -> Attempt:
        return self.load(Attempt, attempt_id, "attempt")

    def load_session(self, attempt: Attempt) -> ProctorSession | None:
        if attempt.proctor_session_id is None:
            return None
        return self.load(ProctorSession, attempt.proctor_session_id, "proctor session")

    def save_answer(self, actor: Actor, attempt_id: UUID, question_id: str, choice: int) -> None:
        attempt = self.read_attempt(actor, attempt_id)
        require_owner(actor, attempt.candidate_id)
        exam = self.get_exam(attempt.exam_id)
        if not exam.has_question(question_id):
            raise NotFound(f"question {question_id!r} is not part of this exam")
        if not 0 <= choice < exam.choice_count(question_id):
            raise InvalidInput("choice is out of range for this question")
        attempt.save_answer(question_id, choice, self.clock.now())
        self.commit(attempt)

    def submit(self, actor: Actor, attempt_id: UUID) -> Attempt:
        attempt = self.read_attempt(actor, attempt_id)
        require_owner(actor, attempt.candidate_id)
        exam = self.get_exam(attempt.exam_id)
        score = exam.score(attempt.answers)
        now = self.clock.now()
        return self._end(
            attempt,
            lambda a: a.submit(score, len(exam.questions), score >= exam.pass_mark, now),
            lambda s: s.complete("submitted", now),
        )

    def force_end(self, actor: Actor, attempt_id: UUID, reason: str) -> Attempt:
        require_role(actor, "proctor", "admin")
        attempt = self.read_attempt(actor, attempt_id)  # an attempt whose time is up expires first
        now = self.clock.now()
        return self._end(
            attempt,
            lambda a: a.force_end(actor.user_id, reason, now),
            lambda s: s.cancel(actor.user_id, reason, now),
        )

    def expire(self, attempt_id: UUID) -> Attempt:
        """Natural expiry; a no-op error (409) unless the attempt is really overdue."""
        attempt = self.load(Attempt, attempt_id, "attempt")
        if not attempt.is_overdue(self.clock.now()):
            raise Conflict("attempt is not overdue")
        exam = self.get_exam(attempt.exam_id)
        score = exam.score(attempt.answers)
        return self._end(
            attempt,
            lambda a: a.expire(score, len(exam.questions), score >= exam.pass_mark),
            lambda s: s.complete("expired", attempt.deadline),
        )

    def expire_overdue(self) -> int:
        """The periodic sweep: ends every attempt whose time is up. Returns how many."""
        if self.active_attempts is None:
            return 0
        expired = 0
        for attempt_id in self.active_attempts.overdue_attempt_ids(self.clock.now()):
            try:
                self.expire(attempt_id)
                expired += 1
            except (Conflict, NotFound):
                continue  # ended meanwhile or not yet visible: nothing to do
        if expired:
            log.info("expiry sweep ended %d overdue attempt(s)", expired)
        return expired

    def _end(
        self,
        attempt: Attempt,
        end_attempt: Callable[[Attempt], None],
        end_session: Callable[[ProctorSession], None],
    ) -> Attempt:
        end_attempt(attempt)  # raises Conflict when already ended
        session = self.load_session(attempt)
        if session is not None and session.is_active:
            end_session(session)
        self.commit(attempt, session)
        return attempt
