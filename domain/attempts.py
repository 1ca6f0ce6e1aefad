from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.errors import Conflict
from domain.flat_state import FlatState

SUBMIT_GRACE = timedelta(seconds=5)
ACTIVE, SUBMITTED, EXPIRED, CANCELLED = "Active", "Submitted", "Expired", "Cancelled"


class Attempt(FlatState, Aggregate):
    """One candidate sitting one exam. Ends exactly once: submitted, expired or force-ended."""

    TOPIC = "smart_exam.Attempt"

    class Created(Aggregate.Created):
        TOPIC = "smart_exam.Attempt.Created"

    class Started(Aggregate.Created):
        TOPIC = "smart_exam.Attempt.Started"
        exam_id: UUID
        candidate_id: UUID
        started_at: datetime
        deadline: datetime
        proctor_session_id: UUID | None

    class AnswerSaved(Aggregate.Event):
        TOPIC = "smart_exam.Attempt.AnswerSaved"
        question_id: str
        choice: int
        at: datetime

    class Submitted(Aggregate.Event):
        TOPIC = "smart_exam.Attempt.Submitted"
        score: int
        max_score: int
        passed: bool
        ended_at: datetime

    class Expired(Aggregate.Event):
        TOPIC = "smart_exam.Attempt.Expired"
        score: int
        max_score: int
        passed: bool
        ended_at: datetime

    class ForceEnded(Aggregate.Event):
        TOPIC = "smart_exam.Attempt.ForceEnded"
        by: UUID
        reason: str
        ended_at: datetime

    @staticmethod
    def create_id(exam_id: UUID, candidate_id: UUID, **_: object) -> UUID:
        return ids.attempt_id(exam_id, candidate_id)

    @event(Started)
    def __init__(
        self,
        exam_id: UUID,
        candidate_id: UUID,
        started_at: datetime,
        deadline: datetime,
        proctor_session_id: UUID | None,
    ) -> None:
        self.exam_id = exam_id
        self.candidate_id = candidate_id
        self.started_at = started_at
        self.deadline = deadline
        self.proctor_session_id = proctor_session_id
        self.status = ACTIVE
        self.answers: dict[str, int] = {}
        self.ended_at: datetime | None = None
        self.score: int | None = None
        self.max_score: int | None = None
        self.passed: bool | None = None
        self.ended_by: UUID | None = None
        self.end_reason: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    def is_overdue(self, now: datetime) -> bool:
        """Past the deadline plus a short grace for a submit still in flight."""
        return self.is_active and now >= self.deadline + SUBMIT_GRACE

    def remaining_seconds(self, now: datetime) -> int:
        if not self.is_active:
            return 0
        return max(0, int((self.deadline - now).total_seconds()))

    def _require_active(self) -> None:
        if not self.is_active:
            raise Conflict(f"attempt {self.id} has already ended ({self.status})")

    def save_answer(self, question_id: str, choice: int, at: datetime) -> None:
        self._require_active()
        self._answer_saved(question_id=question_id, choice=choice, at=at)

    @event(AnswerSaved)
    def _answer_saved(self, question_id: str, choice: int, at: datetime) -> None:
        self.answers[question_id] = choice

    def submit(self, score: int, max_score: int, passed: bool, ended_at: datetime) -> None:
        self._require_active()
        if self.is_overdue(ended_at):
            raise Conflict("the time for this attempt is up")
        self._submitted(score=score, max_score=max_score, passed=passed, ended_at=ended_at)

    @event(Submitted)
    def _submitted(self, score: int, max_score: int, passed: bool, ended_at: datetime) -> None:
        self.status, self.ended_at = SUBMITTED, ended_at
        self.score, self.max_score, self.passed = score, max_score, passed

    def expire(self, score: int, max_score: int, passed: bool) -> None:
        """Natural expiry: the saved answers count, the attempt ended at its deadline."""
        self._require_active()
        self._expired(score=score, max_score=max_score, passed=passed, ended_at=self.deadline)

    @event(Expired)
    def _expired(self, score: int, max_score: int, passed: bool, ended_at: datetime) -> None:
        self.status, self.ended_at = EXPIRED, ended_at
        self.score, self.max_score, self.passed = score, max_score, passed

    def force_end(self, by: UUID, reason: str, ended_at: datetime) -> None:
        self._require_active()
        self._force_ended(by=by, reason=reason, ended_at=ended_at)

    @event(ForceEnded)
    def _force_ended(self, by: UUID, reason: str, ended_at: datetime) -> None:
        self.status, self.ended_at = CANCELLED, ended_at
        self.ended_by, self.end_reason = by, reason
