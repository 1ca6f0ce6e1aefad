"""Staff actions on an attempt's proctor session: flag, warn, terminate."""

from __future__ import annotations

from uuid import UUID

from application.access import PROCTORS, Actor, require_role
from application.app import SmartExamApp
from application.attempts import force_end, require_session
from application.evidence import bounded_text
from domain import ids
from domain.attempts import Attempt
from domain.errors import Conflict, InvalidInput
from domain.proctoring import ProctorSession


def _refuse_samples(attempt_id: UUID) -> None:
    if attempt_id in ids.SAMPLE_ATTEMPT_IDS:
        raise Conflict("sample sessions are for display only; actions are disabled")


def staff_session(app: SmartExamApp, actor: Actor, attempt_id: UUID) -> ProctorSession:
    require_role(actor, *PROCTORS)
    _refuse_samples(attempt_id)
    return require_session(app, app.load(Attempt, attempt_id, "attempt"))


def flag(app: SmartExamApp, actor: Actor, attempt_id: UUID, note: str) -> int:
    session = staff_session(app, actor, attempt_id)
    session.flag(actor.user_id, bounded_text(note, "note"), app.clock.now())
    return app.commit(session)


def warn(app: SmartExamApp, actor: Actor, attempt_id: UUID, message: str) -> int:
    message = bounded_text(message, "message")
    if not message:
        raise InvalidInput("message must not be empty")
    session = staff_session(app, actor, attempt_id)
    session.warn(actor.user_id, message, app.clock.now())
    return app.commit(session)


def terminate(app: SmartExamApp, actor: Actor, attempt_id: UUID, reason: str) -> Attempt:
    _refuse_samples(attempt_id)
    return force_end(app, actor, attempt_id, bounded_text(reason, "reason") or "terminated by proctor")
