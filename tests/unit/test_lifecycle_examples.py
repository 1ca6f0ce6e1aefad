"""Worked examples of the attempt lifecycle around the deadline and its grace, on the in-memory
(POPO) store: the cases the property test found or could miss."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from fakes import FakeClock
from lifecycle_policy import (
    EXPIRED,
    PASS_MARK,
    QUESTIONS,
    SUBMITTED,
    make_app,
)

from application.access import Actor
from application.attempts import (
    force_end,
    load_session,
    read_attempt,
    save_answer,
    start_attempt,
    submit,
)
from application.exams import create_exam
from application.users import register_user
from domain.attempts import SUBMIT_GRACE
from domain.errors import Conflict


@pytest.fixture
def world() -> Any:
    clock = FakeClock()
    app = make_app(clock)
    admin = register_user(app, "admin", "password-123", "admin")
    cand = register_user(app, "cand", "password-123", "candidate")
    proctor = register_user(app, "proctor", "password-123", "proctor")

    class World:
        pass

    w = World()
    w.clock, w.app = clock, app  # type: ignore[attr-defined]
    w.admin = Actor(admin.id, "admin")  # type: ignore[attr-defined]
    w.cand = Actor(cand.id, "candidate")  # type: ignore[attr-defined]
    w.proctor = Actor(proctor.id, "proctor")  # type: ignore[attr-defined]
    w.exam = create_exam(app, w.admin, "E", 60, True, QUESTIONS, PASS_MARK)  # type: ignore[attr-defined]
    yield w
    app.close()


def test_submit_in_the_grace_window_is_accepted(world: Any) -> None:
    attempt = start_attempt(world.app, world.cand, world.exam.id)
    save_answer(world.app, world.cand, attempt.id, "q1", 1)
    world.clock.advance(60 + SUBMIT_GRACE.total_seconds() - 1)
    done = submit(world.app, world.cand, attempt.id)
    assert (done.status, done.score) == (SUBMITTED, 1)
    assert load_session(world.app, done).status == "Completed"


def test_submit_after_the_grace_expires_instead(world: Any) -> None:
    attempt = start_attempt(world.app, world.cand, world.exam.id)
    save_answer(world.app, world.cand, attempt.id, "q2", 0)
    world.clock.advance(60 + SUBMIT_GRACE.total_seconds())
    with pytest.raises(Conflict):
        submit(world.app, world.cand, attempt.id)
    ended = read_attempt(world.app, world.cand, attempt.id)
    assert (ended.status, ended.ended_at, ended.score) == (EXPIRED, attempt.deadline, 1)
    session = load_session(world.app, ended)
    assert (session.status, session.ended_at) == ("Completed", attempt.deadline)


def test_force_end_after_the_time_is_up_does_not_rewrite_expiry(world: Any) -> None:
    attempt = start_attempt(world.app, world.cand, world.exam.id)
    save_answer(world.app, world.cand, attempt.id, "q1", 1)
    world.clock.advance(60 + SUBMIT_GRACE.total_seconds() + 1)
    with contextlib.suppress(Conflict):  # the fix may refuse it (409) or expire first
        force_end(world.app, world.proctor, attempt.id, "too late")
    ended = read_attempt(world.app, world.proctor, attempt.id)
    assert (ended.status, ended.score) == (EXPIRED, 1)
