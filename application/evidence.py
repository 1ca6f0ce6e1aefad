"""Proctoring evidence from the candidate: snapshots and client events on the attempt's session."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.access import Actor, require_owner, require_owner_or_staff
from application.app import SmartExamApp
from application.attempts import read_attempt, require_session
from domain.attempts import Attempt
from domain.errors import Conflict, InvalidInput, NotFound, SmartExamError
from domain.proctoring import CLIENT_EVENT_TYPES, ProctorSession

MAX_TEXT = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def bounded_text(value: str, field: str) -> str:
    """Free text recorded on a session (event detail, staff note), stripped and bounded. No
    control characters, whoever calls: PostgreSQL refuses NUL, so one would stop a read model."""
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{field} is longer than {MAX_TEXT} characters")
    if _CONTROL.search(value):
        raise InvalidInput(f"{field} must not contain control characters")
    return value


class SnapshotFile(NamedTuple):
    """A snapshot stored on disk, to be recorded on the session that authorized its upload."""

    session: ProctorSession
    snapshot_id: UUID
    path: str
    size_bytes: int
    taken_at: datetime


def candidate_session(app: SmartExamApp, actor: Actor, attempt_id: UUID) -> ProctorSession:
    """The active session of the caller's own attempt, for evidence uploads."""
    attempt = read_attempt(app, actor, attempt_id)
    require_owner(actor, attempt.candidate_id, f"attempt {attempt.id}")
    return _active(require_session(app, attempt), attempt.status)


def snapshot_session(app: SmartExamApp, actor: Actor, attempt_id: UUID) -> ProctorSession:
    """`candidate_session` as this process last saw it, asking the store nothing: checked
    before a snapshot's body is read, and `record_snapshots` decides again on the session
    as it is if anything changed meanwhile. A deadline that has passed is a fresh read."""
    attempt = app.peek(Attempt, attempt_id, "attempt")
    require_owner_or_staff(actor, attempt.candidate_id, f"attempt {attempt.id}")
    if attempt.is_overdue(app.clock.now()):
        return candidate_session(app, actor, attempt_id)
    require_owner(actor, attempt.candidate_id, f"attempt {attempt.id}")
    if attempt.proctor_session_id is None:
        raise NotFound("proctoring is not enabled for this attempt")
    session = app.peek(ProctorSession, attempt.proctor_session_id, "proctor session")
    return _active(session, attempt.status)


def _active(session: ProctorSession, status: str) -> ProctorSession:
    if not session.is_active:
        raise Conflict(f"this attempt has ended ({status}); nothing more is accepted")
    return session


def record_snapshots(app: SmartExamApp, files: Sequence[SnapshotFile]) -> list[int | SmartExamError]:
    """Records a batch of snapshots in one transaction, each on the session that authorized
    its upload; returns each one's position, or why it was refused. If any session changed
    meanwhile (another upload of the same attempt, or the attempt ended), each snapshot is
    decided again on its session as it is now, and saved alone."""
    sessions = [file.session for file in files]
    try:
        for file in files:
            file.session.take_snapshot(file.snapshot_id, file.path, file.size_bytes, file.taken_at)
        recordings = app.save(*sessions)
    except (IntegrityError, SmartExamError):
        app.forget(*sessions)
        return [_record_alone(app, file) for file in files]
    app.remember(*sessions)
    positions = {r.domain_event.originator_id: r.notification.id for r in recordings}
    return [positions[session.id] for session in sessions]


def _record_alone(app: SmartExamApp, file: SnapshotFile) -> int | SmartExamError:
    try:
        session = app.load(ProctorSession, file.session.id, "proctor session")
        session.take_snapshot(file.snapshot_id, file.path, file.size_bytes, file.taken_at)
        return app.commit(session)
    except SmartExamError as error:
        return error


def record_client_event(app: SmartExamApp, actor: Actor, attempt_id: UUID, type: str, detail: str) -> int:
    if type not in CLIENT_EVENT_TYPES:
        raise InvalidInput(f"unknown event type {type!r}; allowed: {sorted(CLIENT_EVENT_TYPES)}")
    session = candidate_session(app, actor, attempt_id)
    session.record_event(type, bounded_text(detail, "detail"), app.clock.now())
    return app.commit(session)
