"""Domain rules, aggregate by aggregate. No I/O, no application."""

from __future__ import annotations

import copy
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.utils import get_topic, resolve_topic
from fakes import EPOCH

from domain import ids
from domain.attempts import SUBMIT_GRACE, Attempt
from domain.errors import Conflict, InvalidInput
from domain.exams import Exam, validate_questions
from domain.proctoring import (
    CLIENT_EVENT_TYPES,
    CONDUCT_EVENT_TYPES,
    CONNECTIVITY_EVENT_TYPES,
    ProctorSession,
)
from domain.settings import MAX_RETENTION_DAYS, Settings
from domain.users import User

EXAM, CANDIDATE, PROCTOR = uuid4(), uuid4(), uuid4()


def new_attempt(duration: int = 60, proctored: bool = True) -> Attempt:
    attempt_id = ids.attempt_id(EXAM, CANDIDATE)
    return Attempt(
        exam_id=EXAM,
        candidate_id=CANDIDATE,
        started_at=EPOCH,
        deadline=EPOCH + timedelta(seconds=duration),
        proctor_session_id=ids.proctor_session_id(attempt_id) if proctored else None,
    )


def new_session() -> ProctorSession:
    return ProctorSession(
        attempt_id=ids.attempt_id(EXAM, CANDIDATE),
        exam_id=EXAM,
        candidate_id=CANDIDATE,
        started_at=EPOCH,
    )


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


# -- attempts ------------------------------------------------------------------------------------
def test_a_new_attempt_is_active_with_its_deadline() -> None:
    attempt = new_attempt(duration=90)
    assert attempt.status == "Active" and attempt.is_active
    assert attempt.deadline == EPOCH + timedelta(seconds=90)
    assert attempt.ended_at is None and attempt.score is None
    assert attempt.remaining_seconds(EPOCH + timedelta(seconds=30)) == 60
    assert attempt.remaining_seconds(EPOCH + timedelta(seconds=500)) == 0


def test_overdue_only_after_deadline_plus_grace() -> None:
    attempt = new_attempt(duration=60)
    deadline = attempt.deadline
    assert not attempt.is_overdue(deadline)
    assert not attempt.is_overdue(deadline + SUBMIT_GRACE - timedelta(microseconds=1))
    assert attempt.is_overdue(deadline + SUBMIT_GRACE)


def test_answers_overwrite_per_question() -> None:
    attempt = new_attempt()
    attempt.save_answer("q1", 0, EPOCH)
    attempt.save_answer("q1", 2, EPOCH)
    attempt.save_answer("q2", 1, EPOCH)
    assert attempt.answers == {"q1": 2, "q2": 1}


def test_a_copy_from_the_cache_shares_no_mutable_state() -> None:
    attempt = new_attempt()
    attempt.save_answer("q1", 0, EPOCH)
    attempt.collect_events()
    clone = copy.deepcopy(attempt)
    clone.save_answer("q1", 1, EPOCH)
    clone.submit(1, 1, True, EPOCH)
    assert attempt.answers == {"q1": 0} and attempt.is_active and attempt.collect_events() == []
    assert type(clone) is Attempt and clone.id == attempt.id and clone.version == attempt.version + 2


def test_submit_records_score_and_end() -> None:
    attempt = new_attempt()
    at = EPOCH + timedelta(seconds=10)
    attempt.submit(score=1, max_score=2, passed=True, ended_at=at)
    assert (attempt.status, attempt.ended_at, attempt.score, attempt.passed) == (
        "Submitted", at, 1, True,
    )  # fmt: skip


def test_submit_within_grace_is_accepted_but_not_after() -> None:
    late = new_attempt()
    late.submit(0, 1, False, late.deadline + SUBMIT_GRACE - timedelta(seconds=1))
    assert late.status == "Submitted"
    too_late = new_attempt()
    with pytest.raises(Conflict):
        too_late.submit(0, 1, False, too_late.deadline + SUBMIT_GRACE)
    assert too_late.status == "Active"


def test_expiry_ends_at_the_deadline() -> None:
    attempt = new_attempt()
    attempt.save_answer("q1", 1, EPOCH)
    attempt.expire(score=1, max_score=2, passed=False)
    assert (attempt.status, attempt.ended_at, attempt.score) == ("Expired", attempt.deadline, 1)


def test_force_end_records_who_and_why() -> None:
    attempt = new_attempt()
    at = EPOCH + timedelta(seconds=3)
    attempt.force_end(PROCTOR, "phone on desk", at)
    assert (attempt.status, attempt.ended_at, attempt.ended_by, attempt.end_reason) == (
        "Cancelled", at, PROCTOR, "phone on desk",
    )  # fmt: skip
    assert attempt.score is None


def _submitted(a: Attempt) -> None:
    a.submit(0, 1, False, EPOCH)


def _expired(a: Attempt) -> None:
    a.expire(0, 1, False)


def _cancelled(a: Attempt) -> None:
    a.force_end(PROCTOR, "x", EPOCH)


@pytest.mark.parametrize("end", [_submitted, _expired, _cancelled], ids=["submitted", "expired", "cancelled"])
def test_an_ended_attempt_never_changes_again(end: object) -> None:
    attempt = new_attempt()
    end(attempt)  # type: ignore[operator]
    before = (attempt.status, attempt.ended_at, attempt.score, attempt.version, dict(attempt.answers))
    for command in (
        lambda: attempt.save_answer("q1", 1, EPOCH),
        lambda: attempt.submit(1, 1, True, EPOCH),
        lambda: attempt.expire(1, 1, True),
        lambda: attempt.force_end(PROCTOR, "again", EPOCH),
    ):
        with pytest.raises(Conflict):
            command()
    assert attempt.collect_events()[-1].originator_version == attempt.version
    after = (attempt.status, attempt.ended_at, attempt.score, attempt.version, dict(attempt.answers))
    assert after == before
    assert attempt.remaining_seconds(EPOCH) == 0


# -- proctor sessions ----------------------------------------------------------------------------
def test_session_collects_evidence_while_active() -> None:
    session = new_session()
    assert session.status == "Active" and session.ended_at is None
    session.take_snapshot(uuid4(), "proctor-snapshots/x.jpg", 1234, EPOCH)
    session.take_snapshot(uuid4(), "proctor-snapshots/y.jpg", 1234, EPOCH)
    session.record_event("tab_hidden", "", EPOCH)
    session.flag(PROCTOR, "look", EPOCH)
    session.warn(PROCTOR, "eyes on screen", EPOCH)
    assert session.snapshot_count == 2
    assert [type(e).__name__ for e in session.collect_events()] == [
        "SessionStarted", "SnapshotTaken", "SnapshotTaken", "ProctorEventRecorded", "Flagged",
        "Warned",
    ]  # fmt: skip


@pytest.mark.parametrize("ending", ["complete", "cancel"])
def test_an_ended_session_accepts_nothing(ending: str) -> None:
    session = new_session()
    at = EPOCH + timedelta(seconds=9)
    if ending == "complete":
        session.complete("submitted", at)
        assert session.status == "Completed"
    else:
        session.cancel(PROCTOR, "terminated", at)
        assert session.status == "Cancelled"
    assert session.ended_at == at
    version = session.version
    for command in (
        lambda: session.take_snapshot(uuid4(), "p", 1, EPOCH),
        lambda: session.record_event("tab_hidden", "", EPOCH),
        lambda: session.flag(PROCTOR, "n", EPOCH),
        lambda: session.warn(PROCTOR, "m", EPOCH),
        lambda: session.complete("again", EPOCH),
        lambda: session.cancel(PROCTOR, "again", EPOCH),
    ):
        with pytest.raises(Conflict):
            command()
    assert (session.version, session.ended_at) == (version, at)


def test_client_event_types_split_conduct_from_connectivity() -> None:
    assert not CONDUCT_EVENT_TYPES & CONNECTIVITY_EVENT_TYPES
    assert CLIENT_EVENT_TYPES == CONDUCT_EVENT_TYPES | CONNECTIVITY_EVENT_TYPES
    assert {"camera_denied", "camera_restored", "tab_hidden"} <= CONDUCT_EVENT_TYPES
    assert {"snapshot_upload_failed", "live_connected", "live_lost"} <= CONNECTIVITY_EVENT_TYPES


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
