"""The attempt lifecycle policy as a model the property tests check the application against.

Policy (DESIGN §3): a proctored attempt has exactly one ProctorSession (deterministic id), a
non-proctored one none; submit => Submitted + Completed, natural expiry => Expired + Completed,
force-end => Cancelled + Cancelled; attempt and session end together (same ended_at); terminal
states never change again; commands on an ended attempt raise Conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import AggregateNotFoundError
from fakes import FakeClock, PlainHasher
from hypothesis import event

from application.access import Actor
from application.app import SmartExamApp
from domain import ids
from domain.attempts import SUBMIT_GRACE, Attempt
from domain.proctoring import ProctorSession

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
QUESTIONS: list[Any] = [
    {"id": "q1", "text": "1 + 1 = ?", "choices": ["1", "2", "3"], "answer": 1},
    {"id": "q2", "text": "Capital of France?", "choices": ["Paris", "Rome", "Oslo"], "answer": 0},
]
PASS_MARK = 1
# (title, duration seconds, proctoring enabled)
EXAMS = [("Proctored 60s", 60, True), ("Open book 90s", 90, False), ("Proctored 30s", 30, True)]
N_CANDIDATES = 3

ACTIVE, SUBMITTED, EXPIRED, CANCELLED = "Active", "Submitted", "Expired", "Cancelled"
SESSION_STATUS = {
    ACTIVE: "Active",
    SUBMITTED: "Completed",
    EXPIRED: "Completed",
    CANCELLED: "Cancelled",
}


def make_app(clock: FakeClock) -> SmartExamApp:
    return SmartExamApp(env=POPO, clock=clock, hasher=PlainHasher())


def expected_score(answers: dict[str, int]) -> int:
    return sum(1 for q in QUESTIONS if answers.get(q["id"]) == q["answer"])


@dataclass
class Model:
    """What the policy says an attempt must look like."""

    attempt_id: UUID
    candidate: Actor
    proctored: bool
    deadline: datetime
    status: str = ACTIVE
    answers: dict[str, int] = field(default_factory=dict)
    ended_at: datetime | None = None
    score: int | None = None
    frozen: tuple[int, int | None] | None = None  # versions once terminal: must never move

    @property
    def terminal(self) -> bool:
        return self.status != ACTIVE

    def overdue(self, now: datetime) -> bool:
        return self.status == ACTIVE and now >= self.deadline + SUBMIT_GRACE

    def end(self, status: str, ended_at: datetime) -> None:
        assert not self.terminal
        event(f"attempt ended: {status} (proctored={self.proctored})")
        self.status, self.ended_at = status, ended_at
        self.score = expected_score(self.answers) if status in (SUBMITTED, EXPIRED) else None


class StartedAttempts:
    """The ActiveAttempts port for the sweep: every attempt ever started (ended ones too, as a
    lagging read model would), so the sweep must itself skip what is not overdue."""

    def __init__(self) -> None:
        self.ids: list[UUID] = []

    def overdue_attempt_ids(self, now: datetime) -> list[UUID]:
        return list(self.ids)


def assert_agrees_with_the_policy(app: SmartExamApp, model: Model) -> None:
    """The attempt and its session in the store are what the policy says (DESIGN §3)."""
    attempt_id = model.attempt_id
    attempt = app.repository.get(attempt_id)
    assert isinstance(attempt, Attempt)
    assert attempt.status == model.status
    assert (attempt.ended_at is not None) == model.terminal
    assert attempt.ended_at == model.ended_at
    assert attempt.score == model.score
    assert attempt.answers == model.answers
    session_id = ids.proctor_session_id(attempt_id)
    session: ProctorSession | None = None
    if model.proctored:
        session = app.repository.get(session_id)
        assert isinstance(session, ProctorSession)
        assert attempt.proctor_session_id == session_id
        assert session.attempt_id == attempt_id
        assert session.candidate_id == model.candidate.user_id
        assert session.status == SESSION_STATUS[model.status]
        assert (session.ended_at is not None) == model.terminal
        assert session.ended_at == attempt.ended_at  # ended together
    else:
        assert attempt.proctor_session_id is None
        with pytest.raises(AggregateNotFoundError):
            app.repository.get(session_id)
    if model.terminal:
        versions = (attempt.version, session.version if session else None)
        if model.frozen is None:
            model.frozen = versions
        assert versions == model.frozen, "a terminal attempt or session changed"
