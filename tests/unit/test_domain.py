"""Domain rules: ids, stable topics, exams, settings. No I/O, no application.
Attempts and proctor sessions: test_domain_attempts.py, test_domain_sessions.py."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from domain_builders import CANDIDATE, EXAM, new_attempt, new_session
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.utils import get_topic, resolve_topic

from domain import ids
from domain.attempts import Attempt
from domain.errors import InvalidInput
from domain.exams import Exam, validate_questions
from domain.proctoring import (
    ProctorSession,
)
from domain.settings import MAX_RETENTION_DAYS, Settings
from domain.users import User


# -- ids -----------------------------------------------------------------------------------------
def test_ids_are_deterministic_and_distinct() -> None:
    a, b = uuid4(), uuid4()
    assert ids.attempt_id(a, b) == ids.attempt_id(a, b)
    assert ids.attempt_id(a, b) != ids.attempt_id(b, a)
    attempt = ids.attempt_id(a, b)
    assert ids.proctor_session_id(attempt) == ids.proctor_session_id(attempt)
    assert ids.proctor_session_id(attempt) != attempt
    assert ids.user_id("  Alice ") == ids.user_id("alice")
    assert ids.settings_id() == ids.settings_id()
    assert len(set(ids.SAMPLE_ATTEMPT_IDS)) == 2


def test_aggregates_take_their_deterministic_ids() -> None:
    attempt = new_attempt()
    assert attempt.id == ids.attempt_id(EXAM, CANDIDATE)
    assert new_session().id == ids.proctor_session_id(attempt.id)
    user = User(username="Bob", display_name="Bob", role="candidate", password_hash="x")
    assert user.id == ids.user_id("bob")
    assert Settings(retention_days=30).id == ids.settings_id()


# -- stable topics (renaming a class must never orphan stored events) ---------------------------
AGGREGATES: list[type[Aggregate]] = [Attempt, ProctorSession, Exam, User, Settings]
EXPECTED_EVENT_TOPICS = {
    "smart_exam.Attempt": {"Created", "Started", "AnswerSaved", "Submitted", "Expired", "ForceEnded"},
    "smart_exam.ProctorSession": {
        "Created", "SessionStarted", "SnapshotTaken", "ProctorEventRecorded", "Flagged", "Warned",
        "SessionCompleted", "SessionCancelled",
    },
    "smart_exam.Exam": {"Created", "ExamCreated"},
    "smart_exam.User": {"Created", "Registered", "PasswordChanged"},
    "smart_exam.Settings": {"Created", "Initialised", "RetentionDaysChanged"},
}  # fmt: skip


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda a: a.__name__)
def test_every_aggregate_and_event_has_an_explicit_stable_topic(aggregate: type[Aggregate]) -> None:
    topic = get_topic(aggregate)
    assert topic in EXPECTED_EVENT_TOPICS, f"{aggregate.__name__} has no explicit TOPIC: {topic}"
    assert resolve_topic(topic) is aggregate
    events = {
        name: cls
        for name, cls in vars(aggregate).items()
        if isinstance(cls, type) and issubclass(cls, DomainEvent) and name != "Event"
    }
    assert set(events) >= EXPECTED_EVENT_TOPICS[topic]
    for name, cls in events.items():
        assert get_topic(cls) == f"{topic}.{name}", "event topics must not depend on module paths"
        assert resolve_topic(f"{topic}.{name}") is cls


# -- exams ---------------------------------------------------------------------------------------
def q(qid: str, answer: int = 0, choices: int = 3) -> dict[str, object]:
    return {"id": qid, "text": f"question {qid}", "choices": [f"c{i}" for i in range(choices)],
            "answer": answer}  # fmt: skip


def test_valid_questions_pass() -> None:
    validate_questions([q("a"), q("b", 2)])  # type: ignore[list-item]
    validate_questions([])


@pytest.mark.parametrize(
    "questions",
    [
        [q("a"), q("a")],
        [q("a", choices=1)],
        [q("a", answer=3)],
        [q("a", answer=-1)],
    ],
    ids=["duplicate id", "one choice", "answer too high", "negative answer"],
)
def test_invalid_questions_are_rejected(questions: list[dict[str, object]]) -> None:
    with pytest.raises(InvalidInput):
        validate_questions(questions)  # type: ignore[arg-type]


def test_exam_scores_correct_answers_only() -> None:
    exam = Exam(
        title="T", duration_seconds=60, proctoring_enabled=True,
        questions=[q("a", 1), q("b", 2), q("c", 0)], pass_mark=2,
    )  # fmt: skip
    assert exam.score({}) == 0
    assert exam.score({"a": 1, "b": 0, "c": 0, "zzz": 1}) == 2
    assert exam.has_question("b") and not exam.has_question("zzz")
    assert exam.choice_count("a") == 3


# -- settings ------------------------------------------------------------------------------------
def test_retention_change_records_old_and_new() -> None:
    admin: UUID = uuid4()
    settings = Settings(retention_days=30)
    settings.change_retention_days(admin, 7)
    events = settings.collect_events()
    changed = events[-1]
    assert isinstance(changed, Settings.RetentionDaysChanged)
    assert (changed.by, changed.old, changed.new) == (admin, 30, 7)
    assert settings.retention_days == 7


def test_same_retention_is_a_no_op() -> None:
    settings = Settings(retention_days=30)
    settings.change_retention_days(uuid4(), 30)
    assert len(settings.collect_events()) == 1


@pytest.mark.parametrize("days", [0, -1, MAX_RETENTION_DAYS + 1])
def test_retention_out_of_range_is_rejected(days: int) -> None:
    settings = Settings(retention_days=30)
    with pytest.raises(InvalidInput):
        settings.change_retention_days(uuid4(), days)
    assert settings.retention_days == 30


def test_retention_bounds_are_inclusive() -> None:
    settings = Settings(retention_days=30)
    settings.change_retention_days(uuid4(), 1)
    settings.change_retention_days(uuid4(), MAX_RETENTION_DAYS)
    assert settings.retention_days == MAX_RETENTION_DAYS
