from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from adapters.runtime.services import CENTER, Services
from application import attempts, exams, staff
from application.access import PROCTORS
from domain.attempts import Attempt
from domain.errors import PermissionDenied
from domain.exams import Question
from interfaces.deps import ActorDep, CommandsDep, ServicesDep
from interfaces.schemas import (
    AnswerIn,
    AttemptOut,
    ExamIn,
    ExamOut,
    ForceEndIn,
    IdOut,
    ProctoringOut,
    QuestionOut,
    StartOut,
    StatusOut,
    SubmitOut,
)
from interfaces.text import Identifier

router = APIRouter(tags=["exams"])


@router.post("/api/exams", response_model=IdOut, status_code=201)
async def create_exam(body: ExamIn, actor: ActorDep, services: ServicesDep, commands: CommandsDep) -> IdOut:
    questions: list[Question] = [
        {"id": q.id, "text": q.text, "choices": q.choices, "answer": q.answer} for q in body.questions
    ]
    exam = await commands.run(
        exams.create_exam,
        services.app,
        actor,
        body.title,
        body.duration_seconds,
        body.proctoring_enabled,
        questions,
        body.pass_mark,
    )
    return IdOut(id=exam.id)


@router.get("/api/exams", response_model=list[ExamOut])
def list_exams(actor: ActorDep, services: ServicesDep) -> list[ExamOut]:
    services.wait_until_current(CENTER)  # reads see writes
    return [
        ExamOut(
            id=r["exam_id"],
            title=r["title"],
            duration_seconds=r["duration_seconds"],
            proctoring_enabled=bool(r["proctoring_enabled"]),
            question_count=r["question_count"],
            pass_mark=r["pass_mark"],
        )
        for r in services.center.exams()
    ]


@router.post("/api/exams/{exam_id}/attempts", response_model=StartOut)
async def start_attempt(
    exam_id: UUID, actor: ActorDep, services: ServicesDep, commands: CommandsDep
) -> StartOut:
    attempt = await commands.run(attempts.start_attempt, services.app, actor, exam_id)
    return StartOut(
        attempt_id=attempt.id,
        proctor_session_id=attempt.proctor_session_id,
        deadline=attempt.deadline,
        status=attempt.status,
    )


def attempt_out(services: Services, attempt: Attempt) -> AttemptOut:
    exam = exams.get_exam(services.app, attempt.exam_id)
    s = services.settings
    proctored = attempt.proctor_session_id is not None
    return AttemptOut(
        attempt_id=attempt.id,
        exam_id=attempt.exam_id,
        exam_title=exam.title,
        candidate_id=attempt.candidate_id,
        status=attempt.status,
        started_at=attempt.started_at,
        deadline=attempt.deadline,
        ended_at=attempt.ended_at,
        remaining_seconds=attempt.remaining_seconds(services.app.clock.now()),
        questions=[QuestionOut(id=q["id"], text=q["text"], choices=q["choices"]) for q in exam.questions],
        answers=attempt.answers,
        score=attempt.score,
        max_score=attempt.max_score,
        passed=attempt.passed,
        end_reason=attempt.end_reason,
        proctor_session_id=attempt.proctor_session_id,
        proctoring=ProctoringOut(
            enabled=proctored,
            snapshot_interval_seconds=s.snapshot_interval_seconds,
            chunk_seconds=s.chunk_seconds,
            live_video=proctored and s.enable_live_video,
            recording=proctored and s.enable_video_recording,
        ),
    )


@router.get("/api/attempts/{attempt_id}", response_model=AttemptOut)
def get_attempt(attempt_id: UUID, actor: ActorDep, services: ServicesDep, response: Response) -> AttemptOut:
    attempt = attempts.read_attempt(services.app, actor, attempt_id)  # owner or staff only
    response.headers["Cache-Control"] = "no-store"
    return attempt_out(services, attempt)


@router.put("/api/attempts/{attempt_id}/answers/{question_id}", response_model=StatusOut)
async def save_answer(
    attempt_id: UUID,
    question_id: Identifier,
    body: AnswerIn,
    actor: ActorDep,
    services: ServicesDep,
    commands: CommandsDep,
) -> StatusOut:
    await commands.run(attempts.save_answer, services.app, actor, attempt_id, question_id, body.choice)
    return StatusOut(status="saved")


@router.post("/api/attempts/{attempt_id}/submit", response_model=SubmitOut)
async def submit(
    attempt_id: UUID, actor: ActorDep, services: ServicesDep, commands: CommandsDep
) -> SubmitOut:
    a = await commands.run(attempts.submit, services.app, actor, attempt_id)
    return SubmitOut(status=a.status, score=a.score, max_score=a.max_score, passed=a.passed)


@router.post("/api/attempt-control/{attempt_id}/force-end", response_model=StatusOut)
async def force_end(
    attempt_id: UUID, body: ForceEndIn, actor: ActorDep, services: ServicesDep, commands: CommandsDep
) -> StatusOut:
    if actor.role not in PROCTORS:
        raise PermissionDenied("only proctors and admins may force-end an attempt")
    a = await commands.run(staff.terminate, services.app, actor, attempt_id, body.reason)
    return StatusOut(status=a.status)
