from __future__ import annotations

from typing import Any, TypedDict

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput


class Question(TypedDict):
    id: str
    text: str
    choices: list[str]
    answer: int


def validate_questions(questions: list[Question]) -> None:
    seen: set[str] = set()
    for q in questions:
        if q["id"] in seen:
            raise InvalidInput(f"duplicate question id {q['id']!r}")
        seen.add(q["id"])
        if len(q["choices"]) < 2:
            raise InvalidInput(f"question {q['id']!r} needs at least two choices")
        if not 0 <= q["answer"] < len(q["choices"]):
            raise InvalidInput(f"question {q['id']!r}: answer index out of range")


class Exam(Aggregate):
    TOPIC = "smart_exam.Exam"

    class Created(Aggregate.Created):
        TOPIC = "smart_exam.Exam.Created"

    class ExamCreated(Aggregate.Created):
        TOPIC = "smart_exam.Exam.ExamCreated"
        title: str
        duration_seconds: int
        proctoring_enabled: bool
        questions: list[dict[str, Any]]
        pass_mark: int

    @event(ExamCreated)
    def __init__(
        self,
        title: str,
        duration_seconds: int,
        proctoring_enabled: bool,
        questions: list[dict[str, Any]],
        pass_mark: int,
    ) -> None:
        self.title = title
        self.duration_seconds = duration_seconds
        self.proctoring_enabled = proctoring_enabled
        self.questions: list[dict[str, Any]] = questions
        self.pass_mark = pass_mark

    def has_question(self, question_id: str) -> bool:
        return any(q["id"] == question_id for q in self.questions)

    def choice_count(self, question_id: str) -> int:
        return next(len(q["choices"]) for q in self.questions if q["id"] == question_id)

    def score(self, answers: dict[str, int]) -> int:
        return sum(1 for q in self.questions if answers.get(q["id"]) == q["answer"])
