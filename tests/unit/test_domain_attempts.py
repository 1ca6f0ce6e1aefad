"""Attempt rules: deadline and grace, answers, the three ways to end, nothing after the end."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from domain_builders import PROCTOR, new_attempt
from fakes import EPOCH

from domain.attempts import SUBMIT_GRACE, Attempt
from domain.errors import Conflict


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
