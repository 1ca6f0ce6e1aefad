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

from application.access import (
    CANDIDATES,
    PROCTORS,
    Actor,
    require_owner,
    require_owner_or_staff,
    require_role,
)
from application.app import SmartExamApp
from application.exams import get_exam
from domain import ids
from domain.attempts import Attempt
from domain.errors import Conflict, InvalidInput, NotFound
from domain.proctoring import ProctorSession

log = logging.getLogger(__name__)


def start_attempt(app: SmartExamApp, actor: Actor, exam_id: UUID) -> Attempt:
    """Idempotent: a repeated start returns the same attempt and session. The attempt id
    is derived from exam and candidate, so a repeat fails to save version 1 and reads what
    is there instead (a first start, the common case, costs no read)."""
    require_role(actor, *CANDIDATES)
    exam = get_exam(app, exam_id)
    attempt_id = ids.attempt_id(exam_id, actor.user_id)
    now = app.clock.now()
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
        app.save(attempt, session)
    except IntegrityError:  # started before (or just now, concurrently): return that one
        return read_attempt(app, actor, attempt_id)
    app.remember(attempt, session)
    return attempt


def read_attempt(app: SmartExamApp, actor: Actor, attempt_id: UUID) -> Attempt:
    """Reads the attempt, expiring it first if its time is up (expiry on read)."""
    attempt = app.load(Attempt, attempt_id, "attempt")
    require_owner_or_staff(actor, attempt.candidate_id, f"attempt {attempt.id}")
    if attempt.is_overdue(app.clock.now()):
        with contextlib.suppress(Conflict):  # someone else ended it meanwhile
            expire(app, attempt_id)
        attempt = app.load(Attempt, attempt_id, "attempt")
    return attempt


def load_attempt(app: SmartExamApp, attempt_id: UUID) -> Attempt:
    return app.load(Attempt, attempt_id, "attempt")


def load_session(app: SmartExamApp, attempt: Attempt) -> ProctorSession | None:
    if attempt.proctor_session_id is None:
        return None
    return app.load(ProctorSession, attempt.proctor_session_id, "proctor session")


def require_session(app: SmartExamApp, attempt: Attempt) -> ProctorSession:
    """The attempt's proctor session; a 404 when the exam is not proctored."""
    session = load_session(app, attempt)
    if session is None:
        raise NotFound("proctoring is not enabled for this attempt")
    return session


def save_answer(app: SmartExamApp, actor: Actor, attempt_id: UUID, question_id: str, choice: int) -> None:
    attempt = read_attempt(app, actor, attempt_id)
    require_owner(actor, attempt.candidate_id, f"attempt {attempt.id}")
    exam = get_exam(app, attempt.exam_id)
    if not exam.has_question(question_id):
        raise NotFound(f"question {question_id!r} is not part of this exam")
    if not 0 <= choice < exam.choice_count(question_id):
        raise InvalidInput("choice is out of range for this question")
    attempt.save_answer(question_id, choice, app.clock.now())
    app.commit(attempt)


def submit(app: SmartExamApp, actor: Actor, attempt_id: UUID) -> Attempt:
    attempt = read_attempt(app, actor, attempt_id)
    require_owner(actor, attempt.candidate_id, f"attempt {attempt.id}")
    exam = get_exam(app, attempt.exam_id)
    score = exam.score(attempt.answers)
    now = app.clock.now()
    return _end(
        app,
        attempt,
        lambda a: a.submit(score, len(exam.questions), score >= exam.pass_mark, now),
        lambda s: s.complete("submitted", now),
    )


def force_end(app: SmartExamApp, actor: Actor, attempt_id: UUID, reason: str) -> Attempt:
    require_role(actor, *PROCTORS)
    attempt = read_attempt(app, actor, attempt_id)  # an attempt whose time is up expires first
    now = app.clock.now()
    return _end(
        app,
        attempt,
        lambda a: a.force_end(actor.user_id, reason, now),
        lambda s: s.cancel(actor.user_id, reason, now),
    )


def expire(app: SmartExamApp, attempt_id: UUID) -> Attempt:
    """Natural expiry; a no-op error (409) unless the attempt is really overdue."""
    attempt = app.load(Attempt, attempt_id, "attempt")
    if not attempt.is_overdue(app.clock.now()):
        raise Conflict("attempt is not overdue")
    exam = get_exam(app, attempt.exam_id)
    score = exam.score(attempt.answers)
    return _end(
        app,
        attempt,
        lambda a: a.expire(score, len(exam.questions), score >= exam.pass_mark),
        lambda s: s.complete("expired", attempt.deadline),
    )


def expire_overdue(app: SmartExamApp) -> int:
    """The periodic sweep: ends every attempt whose time is up. Returns how many."""
    if app.active_attempts is None:
        return 0
    expired = 0
    for attempt_id in app.active_attempts.overdue_attempt_ids(app.clock.now()):
        try:
            expire(app, attempt_id)
            expired += 1
        except (Conflict, NotFound):
            continue  # ended meanwhile or not yet visible: nothing to do
    if expired:
        log.info("expiry sweep ended %d overdue attempt(s)", expired)
    return expired


def _end(
    app: SmartExamApp,
    attempt: Attempt,
    end_attempt: Callable[[Attempt], None],
    end_session: Callable[[ProctorSession], None],
) -> Attempt:
    end_attempt(attempt)  # raises Conflict when already ended
    session = load_session(app, attempt)
    if session is not None and session.is_active:
        end_session(session)
    app.commit(attempt, session)
    return attempt
