"""Racing writers from two application instances on one store (SQLite and PostgreSQL) resolve to
one winner with nothing half-written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from eventsourcing.utils import get_topic
from fakes import EPOCH, FakeClock
from lifecycle_world import row_of, run_together, seed

from application import attempts
from domain import ids
from domain.attempts import Attempt
from domain.errors import Conflict
from domain.proctoring import ProctorSession


def test_submit_racing_force_end_has_exactly_one_winner(services_factory: Callable[..., Any]) -> None:
    one = services_factory()
    two = services_factory(run_workers=False)  # a second process on the same store
    rounds = 6
    w = seed(one, candidates=rounds)
    winners = []
    for i, candidate in enumerate(w.candidates):
        attempt = attempts.start_attempt(one.app, candidate, w.proctored)
        submitter, ender = (one, two) if i % 2 == 0 else (two, one)
        submit, force = run_together(
            lambda s=submitter, c=candidate, a=attempt: attempts.submit(s.app, c, a.id),
            lambda e=ender, a=attempt: attempts.force_end(e.app, w.proctor, a.id, "race"),
        )
        outcomes = sorted([submit[0], force[0]])
        assert outcomes == ["error", "ok"], (submit, force)
        loser = submit if submit[0] == "error" else force
        assert isinstance(loser[1], Conflict), f"the loser must get a 409, got {loser[1]!r}"
        status, session_status = (
            ("Submitted", "Completed") if submit[0] == "ok" else ("Cancelled", "Cancelled")
        )
        winners.append((status, loser[1].detail[:30]))
        for services in (one, two):  # both processes see the same, complete outcome
            stored = attempts.load_attempt(services.app, attempt.id)
            session = attempts.load_session(services.app, stored)
            assert (stored.status, session.status) == (status, session_status)
            assert stored.ended_at is not None and session.ended_at == stored.ended_at
            assert (stored.version, session.version) == (2, 2), "exactly one ending was written"
        row_of(one, attempt.id, attempt_status=status, session_status=session_status)
    print("race winners:", winners)


def test_concurrent_starts_create_one_attempt_and_one_session(
    services_factory: Callable[..., Any], clock: FakeClock
) -> None:
    one = services_factory()
    # the second process's clock is a second ahead: the loser must return the winner's attempt
    two = services_factory(run_workers=False, clock=FakeClock(EPOCH + timedelta(seconds=1)))
    rounds = 5
    w = seed(one, candidates=rounds)
    for candidate in w.candidates:
        first, second = run_together(
            lambda c=candidate: attempts.start_attempt(one.app, c, w.proctored),
            lambda c=candidate: attempts.start_attempt(two.app, c, w.proctored),
        )
        assert first[0] == second[0] == "ok", (first, second)
        a, b = first[1], second[1]
        attempt_id = ids.attempt_id(w.proctored, candidate.user_id)
        assert a.id == b.id == attempt_id
        assert a.proctor_session_id == b.proctor_session_id == ids.proctor_session_id(attempt_id)
        assert a.deadline == b.deadline and a.started_at == b.started_at
        for topic, originator in (
            (get_topic(Attempt.Started), attempt_id),
            (get_topic(ProctorSession.SessionStarted), ids.proctor_session_id(attempt_id)),
        ):
            created = [
                n
                for n in w.app.recorder.select_notifications(
                    0, 10_000, topics=[topic], inclusive_of_start=False
                )
                if n.originator_id == originator
            ]
            assert len(created) == 1
        row_of(one, attempt_id, attempt_status="Active", session_status="Active")
