"""The attempt lifecycle through the real application and stores (SQLite and PostgreSQL): the
read models follow each step, the expiry sweep ends what is overdue, close releases the store.
Exactly-once projection: test_read_models_exactly_once.py; racing writers: test_racing_writers.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fakes import FakeClock
from helpers import close_services, wait_until
from lifecycle_world import everything_caught_up, row_of, seed

from application import attempts, staff
from domain import ids
from domain.attempts import SUBMIT_GRACE
from domain.errors import Conflict


# -- the lifecycle, end to end -----------------------------------------------------------------
def test_lifecycle_rows_follow_the_events(services_factory: Callable[..., Any], clock: FakeClock) -> None:
    services = services_factory()
    w = seed(services, candidates=3)
    alice, bob, carol = w.candidates

    a1 = attempts.start_attempt(w.app, alice, w.proctored)
    again = attempts.start_attempt(w.app, alice, w.proctored)  # idempotent
    assert (again.id, again.proctor_session_id) == (a1.id, ids.proctor_session_id(a1.id))
    row = row_of(services, a1.id, attempt_status="Active", session_status="Active")
    assert row["session_id"] == str(ids.proctor_session_id(a1.id))
    assert (row["exam_title"], row["candidate_name"]) == ("Proctored", "Cand0")
    assert row["deadline"] == (clock.now() + timedelta(seconds=600)).isoformat()

    open_attempt = attempts.start_attempt(w.app, bob, w.open_book)
    assert open_attempt.proctor_session_id is None
    row = row_of(services, open_attempt.id, attempt_status="Active")
    assert row["session_id"] is None and row["session_status"] is None

    clock.advance(30)
    attempts.save_answer(w.app, alice, a1.id, "q1", 1)
    attempts.save_answer(w.app, alice, a1.id, "q2", 2)
    submitted = attempts.submit(w.app, alice, a1.id)
    assert (submitted.status, submitted.score, submitted.passed) == ("Submitted", 1, True)
    row = row_of(services, a1.id, attempt_status="Submitted", session_status="Completed")
    assert (row["ended_at"], row["score"]) == (clock.now().isoformat(), 1)

    a3 = attempts.start_attempt(w.app, carol, w.proctored)
    staff.flag(w.app, w.proctor, a3.id, "second person in view")
    clock.advance(5)
    cancelled = attempts.force_end(w.app, w.proctor, a3.id, "left the room")
    assert cancelled.status == "Cancelled"
    session = attempts.load_session(w.app, cancelled)
    assert (session.status, session.ended_at) == ("Cancelled", cancelled.ended_at)
    row = row_of(services, a3.id, attempt_status="Cancelled", session_status="Cancelled")
    assert (row["flag_count"], row["score"], row["risk_score"]) == (1, None, 20)

    with pytest.raises(Conflict):
        attempts.submit(w.app, carol, a3.id)
    with pytest.raises(Conflict):
        attempts.force_end(w.app, w.admin, a1.id, "too late")

    center = services.center
    assert [r["attempt_id"] for r in center.sessions("Completed", False, clock.now())] == [str(a1.id)]
    assert [r["attempt_id"] for r in center.sessions("Cancelled", False, clock.now())] == [str(a3.id)]
    assert center.sessions("Active", False, clock.now()) == []  # the open-book attempt has no session
    assert {e["title"] for e in center.exams()} == {"Proctored", "Open book"}

    everything_caught_up(services)
    kinds = [i["kind"] for i in services.timeline.items(a3.id)]
    assert kinds == ["started", "flagged", "force_ended", "session_cancelled"]

    stored = w.app.recorder.select_notifications(0, 10_000, inclusive_of_start=False)
    assert stored and all(n.topic.startswith("smart_exam.") for n in stored), "unstable topics"


# -- expiry ----------------------------------------------------------------------------------------
def test_the_expiry_sweep_ends_overdue_attempts(
    services_factory: Callable[..., Any], clock: FakeClock
) -> None:
    services = services_factory()
    w = seed(services, candidates=2)
    alice, bob = w.candidates
    proctored = attempts.start_attempt(w.app, alice, w.proctored)  # 600 s
    open_book = attempts.start_attempt(w.app, bob, w.open_book)  # 1200 s
    attempts.save_answer(w.app, alice, proctored.id, "q1", 1)
    row_of(services, proctored.id, attempt_status="Active")
    row_of(services, open_book.id, attempt_status="Active")

    clock.advance(600 + SUBMIT_GRACE.total_seconds() - 1)  # past the deadline, inside the grace
    assert attempts.expire_overdue(w.app) == 0
    assert attempts.load_attempt(w.app, proctored.id).status == "Active"

    clock.advance(1)
    assert attempts.expire_overdue(w.app) == 1
    ended = attempts.load_attempt(w.app, proctored.id)
    session = attempts.load_session(w.app, ended)
    assert (ended.status, ended.ended_at, ended.score) == ("Expired", proctored.deadline, 1)
    assert (session.status, session.ended_at) == ("Completed", proctored.deadline)
    row = row_of(services, proctored.id, attempt_status="Expired", session_status="Completed")
    assert row["ended_at"] == proctored.deadline.isoformat()
    assert attempts.load_attempt(w.app, open_book.id).status == "Active"

    clock.advance(600)
    assert attempts.expire_overdue(w.app) == 1
    assert attempts.load_attempt(w.app, open_book.id).status == "Expired"
    row_of(services, open_book.id, attempt_status="Expired", session_status=None)
    assert attempts.expire_overdue(w.app) == 0
    with pytest.raises(Conflict):
        attempts.submit(w.app, alice, proctored.id)


# -- resources -------------------------------------------------------------------------------------
def test_close_releases_every_database_connection(
    fresh_pg_url: str, postgres_server: Any, tmp_path: Any, fast_hasher: Any, clock: FakeClock
) -> None:
    from adapters.runtime.bootstrap import bootstrap
    from application.config import AppSettings

    settings = AppSettings(
        data_dir=tmp_path, database_url=fresh_pg_url, expiry_sweep_seconds=3600, projection_process=False
    )
    dbname = fresh_pg_url.rsplit("/", 1)[1]
    services = bootstrap(settings, clock=clock, hasher=fast_hasher)
    try:
        services.start()
        seed(services, candidates=1)
        assert postgres_server.connection_count(dbname) > 0
        services.close()
        wait_until(lambda: postgres_server.connection_count(dbname), lambda n: n == 0, timeout=3)
    finally:
        close_services(services)
