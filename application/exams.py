"""Exams: created once by an admin, never changed afterwards."""

from __future__ import annotations

from uuid import UUID

from application.access import ADMINS, Actor, require_role
from application.app import SmartExamApp
from domain.errors import InvalidInput
from domain.exams import Exam, Question, validate_questions


def create_exam(
    app: SmartExamApp,
    actor: Actor,
    title: str,
    duration_seconds: int,
    proctoring_enabled: bool,
    questions: list[Question],
    pass_mark: int | None = None,
) -> Exam:
    require_role(actor, *ADMINS)
    validate_questions(questions)
    mark = len(questions) if pass_mark is None else pass_mark
    if not 0 <= mark <= len(questions):
        raise InvalidInput("passMark must be between 0 and the number of questions")
    exam = Exam(
        title=title.strip(),
        duration_seconds=duration_seconds,
        proctoring_enabled=proctoring_enabled,
        questions=[dict(q) for q in questions],
        pass_mark=mark,
    )
    app.commit(exam)
    return exam


def get_exam(app: SmartExamApp, exam_id: UUID) -> Exam:
    """Exams never change after creation, so each is loaded from the store once."""
    exam = app.exam_cache.get(exam_id)
    if exam is None:
        exam = app.exam_cache[exam_id] = app.load(Exam, exam_id, "exam")
    return exam
