"""Request and response bodies. JSON is camelCase; Python stays snake_case."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from pydantic.alias_generators import to_camel

from interfaces.text import Choice, EventType, Identifier, LongText, Message, Note, Password, Title, Username


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class CamelIn(Camel):
    """A request body: strict types ("1" and true are not 1), text through interfaces/text.py."""

    model_config = ConfigDict(strict=True)


class LoginIn(CamelIn):
    username: Username
    password: Password


class PasswordChangeIn(CamelIn):
    current_password: Password
    new_password: Password


class DisabledIn(CamelIn):
    disabled: StrictBool


class LoginOut(Camel):
    access_token: str
    role: str
    user_id: UUID
    display_name: str
    csrf_token: str


class MeOut(Camel):
    user_id: UUID
    role: str
    display_name: str


class QuestionIn(CamelIn):
    id: Identifier
    text: LongText
    choices: list[Choice] = Field(min_length=2, max_length=20)
    answer: StrictInt = Field(ge=0, le=19)


class ExamIn(CamelIn):
    title: Title
    duration_seconds: StrictInt = Field(ge=10, le=24 * 3600)
    proctoring_enabled: StrictBool = True
    questions: list[QuestionIn] = Field(min_length=1, max_length=500)
    pass_mark: StrictInt | None = Field(default=None, ge=0, le=500)


class IdOut(Camel):
    id: UUID


class ExamOut(Camel):
    id: UUID
    title: str
    duration_seconds: int
    proctoring_enabled: bool
    question_count: int
    pass_mark: int


class StartOut(Camel):
    attempt_id: UUID
    proctor_session_id: UUID | None
    deadline: datetime
    status: str


class QuestionOut(Camel):
    id: str
    text: str
    choices: list[str]


class ProctoringOut(Camel):
    enabled: bool
    snapshot_interval_seconds: int
    chunk_seconds: int
    live_video: bool
    recording: bool


class AttemptOut(Camel):
    attempt_id: UUID
    exam_id: UUID
    exam_title: str
    candidate_id: UUID
    status: str
    started_at: datetime
    deadline: datetime
    ended_at: datetime | None
    remaining_seconds: int
    questions: list[QuestionOut]
    answers: dict[str, int]
    score: int | None
    max_score: int | None
    passed: bool | None
    end_reason: str | None
    proctor_session_id: UUID | None
    proctoring: ProctoringOut


class AnswerIn(CamelIn):
    choice: StrictInt = Field(ge=0, le=100)


class SubmitOut(Camel):
    status: str
    score: int | None
    max_score: int | None
    passed: bool | None


class ForceEndIn(CamelIn):
    reason: Note = ""


class StatusOut(Camel):
    status: str


class RiskReason(Camel):
    type: str
    count: int
    points: int


class SessionOut(Camel):
    attempt_id: UUID
    session_id: UUID | None
    exam_id: UUID
    exam_title: str
    candidate_id: UUID
    candidate_name: str
    status: str | None = Field(description="Proctor session status: Active, Completed, Cancelled")
    attempt_status: str
    started_at: datetime
    deadline: datetime
    ended_at: datetime | None
    snapshot_count: int
    last_snapshot_at: datetime | None
    latest_snapshot_url: str | None
    flag_count: int
    warning_count: int
    last_warning: str | None
    last_warning_at: datetime | None
    risk_score: int
    risk_reasons: list[RiskReason]
    connectivity_issues: int
    live_status: str
    recording_status: str
    is_sample: bool
    position: int


def session_out(row: dict[str, Any]) -> SessionOut:
    snapshot = row.get("latest_snapshot_id")
    return SessionOut(
        attempt_id=row["attempt_id"],
        session_id=row["session_id"],
        exam_id=row["exam_id"],
        exam_title=row["exam_title"] or "",
        candidate_id=row["candidate_id"],
        candidate_name=row["candidate_name"] or "",
        status=row["session_status"],
        attempt_status=row["attempt_status"],
        started_at=row["started_at"],
        deadline=row["deadline"],
        ended_at=row["ended_at"],
        snapshot_count=row["snapshot_count"] or 0,
        last_snapshot_at=row["last_snapshot_at"],
        latest_snapshot_url=snapshot_url(snapshot) if snapshot else None,
        flag_count=row["flag_count"] or 0,
        warning_count=row["warning_count"] or 0,
        last_warning=row["last_warning"],
        last_warning_at=row["last_warning_at"],
        risk_score=row.get("risk_score", row.get("sample_risk", 0)),
        risk_reasons=row.get("risk_reasons", []),
        connectivity_issues=row.get("connectivity_issues", 0),
        live_status=row["live_status"] or "Offline",
        recording_status=row["recording_status"] or "None",
        is_sample=row["is_sample"],
        position=row["position"] or 0,
    )


class SnapshotOut(Camel):
    snapshot_id: UUID
    url: str
    taken_at: datetime


def snapshot_url(snapshot_id: UUID | str) -> str:
    return f"/api/Proctor/snapshot-file/{snapshot_id}"


class ClientEventIn(CamelIn):
    type: EventType
    detail: Note = ""


class FlagIn(CamelIn):
    note: Note = ""


class WarnIn(CamelIn):
    message: Message


class PositionOut(Camel):
    status: str
    position: int


class TimelineItemOut(Camel):
    position: int
    at: datetime
    kind: str
    label: str
    detail: str
    category: str


class LiveOut(Camel):
    enabled: bool
    status: str


class RecordingStateOut(Camel):
    status: str


class SessionDetailOut(Camel):
    session: SessionOut
    snapshots: list[SnapshotOut]
    timeline: list[TimelineItemOut]
    live: LiveOut
    recording: RecordingStateOut
