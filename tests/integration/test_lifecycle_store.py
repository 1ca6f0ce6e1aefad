"""The attempt lifecycle through the real application and stores (SQLite and PostgreSQL):
read models follow the events exactly once, rebuild identically, and racing writers from two
application instances resolve to one winner with nothing half-written."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.utils import get_topic
from fakes import EPOCH, FakeClock
from helpers import close_services, dump_rows, wait_until

from adapters.read_models import build_view
from adapters.runtime.followers import FollowerRunner, ReadModel
from adapters.sql_view import table_names
from application.access import Actor
from domain import ids
from domain.attempts import SUBMIT_GRACE, Attempt
from domain.errors import Conflict
from domain.proctoring import ProctorSession
from projections import proctor_center, timeline

PASSWORD = "password-123"
QUESTIONS: list[Any] = [
    {"id": "q1", "text": "2 + 2 = ?", "choices": ["3", "4"], "answer": 1},
    {"id": "q2", "text": "Capital of France?", "choices": ["Paris", "Rome", "Oslo"], "answer": 0},
]
PROJECTIONS = [
    (proctor_center.ProctorCenterProjection, proctor_center.TABLES, "center", "proctor_center"),
    (timeline.TimelineProjection, timeline.TABLES, "timeline", "timeline"),
]


@dataclass
class World:
    services: Any
    admin: Actor
    proctor: Actor
    candidates: list[Actor]
    proctored: UUID  # exam with proctoring, 10 minutes
    open_book: UUID  # exam without proctoring, 20 minutes

    @property
    def app(self) -> Any:
        return self.services.app


def seed(services: Any, candidates: int = 2) -> World:
    app = services.app

    def actor(name: str, role: str) -> Actor:
        user = app.register_user(name, PASSWORD, role, name.title())
        return Actor(user.id, role, user.display_name)

    admin, proctor = actor("admin", "admin"), actor("proctor", "proctor")
    people = [actor(f"cand{i}", "candidate") for i in range(candidates)]
    proctored = app.create_exam(admin, "Proctored", 600, True, QUESTIONS, 1).id
    open_book = app.create_exam(admin, "Open book", 1200, False, QUESTIONS, 1).id
    return World(services, admin, proctor, people, proctored, open_book)


def row_of(services: Any, attempt_id: UUID, **expected: Any) -> dict[str, Any]:
    """Waits (bounded, 5 s) until the Proctor Center row has the expected values."""

    def matches(row: dict[str, Any] | None) -> bool:
        return row is not None and all(row.get(k) == v for k, v in expected.items())

    row = wait_until(lambda: services.center.session(attempt_id), matches, what=f"center row {expected}")
    assert row is not None
    return row


def caught_up(services: Any, position: int) -> None:
    """Waits until every read model has applied `position` (a notification it consumes)."""
    app_name = services.app.name
    for view in (services.center.view, services.timeline.view):
        wait_until(
            lambda v=view: v.max_tracking_id(app_name) or 0,
            lambda p: p >= position,
            what=f"{type(view).__name__} at {position}",
        )


def last_position(app: Any, topics: tuple[str, ...]) -> int:
    notifications = app.recorder.select_notifications(0, 100_000, topics=topics, inclusive_of_start=False)
    return notifications[-1].id if notifications else 0


def everything_caught_up(services: Any) -> None:
    position = max(last_position(services.app, p.topics) for p, *_ in PROJECTIONS)
    for projection, _, attr, _ in PROJECTIONS:
        view = getattr(services, attr).view
        target = last_position(services.app, projection.topics)
        wait_until(
            lambda v=view: v.max_tracking_id(services.app.name) or 0,
            lambda p, t=target: p >= t,
            what=f"{projection.name} at {target} (log at {position})",
        )


# -- the lifecycle, end to end -----------------------------------------------------------------
def test_lifecycle_rows_follow_the_events(services_factory: Callable[..., Any], clock: FakeClock) -> None:
    services = services_factory()
    w = seed(services, candidates=3)
    alice, bob, carol = w.candidates

    a1 = w.app.start_attempt(alice, w.proctored)
    again = w.app.start_attempt(alice, w.proctored)  # idempotent
    assert (again.id, again.proctor_session_id) == (a1.id, ids.proctor_session_id(a1.id))
    row = row_of(services, a1.id, attempt_status="Active", session_status="Active")
    assert row["session_id"] == str(ids.proctor_session_id(a1.id))
    assert (row["exam_title"], row["candidate_name"]) == ("Proctored", "Cand0")
    assert row["deadline"] == (clock.now() + timedelta(seconds=600)).isoformat()

    open_attempt = w.app.start_attempt(bob, w.open_book)
    assert open_attempt.proctor_session_id is None
    row = row_of(services, open_attempt.id, attempt_status="Active")
    assert row["session_id"] is None and row["session_status"] is None

    clock.advance(30)
    w.app.save_answer(alice, a1.id, "q1", 1)
    w.app.save_answer(alice, a1.id, "q2", 2)
    submitted = w.app.submit(alice, a1.id)
    assert (submitted.status, submitted.score, submitted.passed) == ("Submitted", 1, True)
    row = row_of(services, a1.id, attempt_status="Submitted", session_status="Completed")
    assert (row["ended_at"], row["score"]) == (clock.now().isoformat(), 1)

    a3 = w.app.start_attempt(carol, w.proctored)
    w.app.flag(w.proctor, a3.id, "second person in view")
    clock.advance(5)
    cancelled = w.app.force_end(w.proctor, a3.id, "left the room")
    assert cancelled.status == "Cancelled"
    session = w.app.load_session(cancelled)
    assert (session.status, session.ended_at) == ("Cancelled", cancelled.ended_at)
    row = row_of(services, a3.id, attempt_status="Cancelled", session_status="Cancelled")
    assert (row["flag_count"], row["score"], row["risk_score"]) == (1, None, 20)

    with pytest.raises(Conflict):
        w.app.submit(carol, a3.id)
    with pytest.raises(Conflict):
        w.app.force_end(w.admin, a1.id, "too late")

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


# -- exactly once --------------------------------------------------------------------------------
def test_replaying_a_tracked_event_is_refused_and_changes_nothing(
    services_factory: Callable[..., Any],
) -> None:
    services = services_factory()
    w = seed(services)
    attempt = w.app.start_attempt(w.candidates[0], w.proctored)
    w.app.flag(w.proctor, attempt.id, "look left")
    w.app.warn(w.proctor, attempt.id, "eyes on the screen")
    w.app.record_client_event(w.candidates[0], attempt.id, "tab_hidden", "")
    w.app.submit(w.candidates[0], attempt.id)
    everything_caught_up(services)
    row_of(services, attempt.id, flag_count=1, warning_count=1, session_status="Completed")

    for projection_class, tables, attr, _ in PROJECTIONS:
        view = getattr(services, attr).view
        projection = projection_class(view)
        before = dump_rows(view, table_names(tables))
        position = view.max_tracking_id(w.app.name)
        notifications = w.app.recorder.select_notifications(
            0, 10_000, topics=projection.topics, inclusive_of_start=False
        )
        assert len(notifications) >= 5
        for notification in notifications:
            event = w.app.mapper.to_domain_event(notification)
            with pytest.raises(IntegrityError):
                projection.process_event(event, Tracking(w.app.name, notification.id))
        assert dump_rows(view, table_names(tables)) == before
        assert view.max_tracking_id(w.app.name) == position


def test_a_rebuild_from_the_event_store_gives_identical_rows(
    services_factory: Callable[..., Any], settings_factory: Callable[..., Any], clock: FakeClock
) -> None:
    services = services_factory()
    w = seed(services, candidates=3)
    a, b, c = w.candidates
    first = w.app.start_attempt(a, w.proctored)
    second = w.app.start_attempt(b, w.proctored)
    w.app.start_attempt(c, w.open_book)
    w.app.save_answer(a, first.id, "q1", 1)
    w.app.record_client_event(a, first.id, "camera_denied", "NotAllowedError")
    w.app.record_client_event(b, second.id, "live_connected", "")
    w.app.flag(w.proctor, second.id, "phone")
    w.app.submit(a, first.id)
    clock.advance(5)
    w.app.force_end(w.admin, second.id, "phone")
    everything_caught_up(services)

    elsewhere = settings_factory(new_store=True)  # an empty data dir / database for the views
    for projection_class, tables, attr, name in PROJECTIONS:
        live_view = getattr(services, attr).view
        fresh = build_view(elsewhere, name, tables)
        try:
            worker = FollowerRunner(w.app, ReadModel(projection_class(fresh)))
            assert worker.catch_up() == len(
                w.app.recorder.select_notifications(
                    0, 10_000, topics=projection_class.topics, inclusive_of_start=False
                )
            )
            assert worker.catch_up() == 0  # resumes from its tracking position
            expected = dump_rows(live_view, table_names(tables))
            assert any(expected.values())
            assert dump_rows(fresh, table_names(tables)) == expected
            assert fresh.max_tracking_id(w.app.name) == live_view.max_tracking_id(w.app.name)

            fresh.reset(w.app.name)  # the CLI's rebuild: empty, then catch up again
            assert all(not rows for rows in dump_rows(fresh, table_names(tables)).values())
            worker.catch_up()
            assert dump_rows(fresh, table_names(tables)) == expected
        finally:
            fresh.datastore.close()


def test_two_instances_with_workers_apply_each_event_once(
    services_factory: Callable[..., Any],
) -> None:
    """Two processes' projection workers on one view: a tracking conflict makes the loser resume,
    so increments are never applied twice."""
    one = services_factory()
    two = services_factory()
    w = seed(one)
    attempt = w.app.start_attempt(w.candidates[0], w.proctored)
    flags = 12
    for i in range(flags):
        (one if i % 2 else two).app.flag(w.proctor, attempt.id, f"flag {i}")
    row = row_of(one, attempt.id, flag_count=flags)
    everything_caught_up(one)
    everything_caught_up(two)
    row = row_of(two, attempt.id, flag_count=flags)
    assert row["risk_reasons"] == [{"type": "flagged", "count": flags, "points": 20 * flags}]
    items = one.timeline.items(attempt.id)
    assert [i["kind"] for i in items].count("flagged") == flags


# -- racing writers ------------------------------------------------------------------------------
def run_together(*calls: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Runs the calls at the same moment in threads; returns ('ok', value) or ('error', exc)."""
    barrier = threading.Barrier(len(calls))

    def go(call: Callable[[], Any]) -> tuple[str, Any]:
        barrier.wait(timeout=10)
        try:
            return "ok", call()
        except Exception as exc:  # the outcome is what we inspect
            return "error", exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls, timeout=60))


def test_submit_racing_force_end_has_exactly_one_winner(services_factory: Callable[..., Any]) -> None:
    one = services_factory()
    two = services_factory(run_workers=False)  # a second process on the same store
    rounds = 6
    w = seed(one, candidates=rounds)
    winners = []
    for i, candidate in enumerate(w.candidates):
        attempt = one.app.start_attempt(candidate, w.proctored)
        submitter, ender = (one, two) if i % 2 == 0 else (two, one)
        submit, force = run_together(
            lambda s=submitter, c=candidate, a=attempt: s.app.submit(c, a.id),
            lambda e=ender, a=attempt: e.app.force_end(w.proctor, a.id, "race"),
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
            stored = services.app.load_attempt(attempt.id)
            session = services.app.load_session(stored)
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
            lambda c=candidate: one.app.start_attempt(c, w.proctored),
            lambda c=candidate: two.app.start_attempt(c, w.proctored),
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


# -- expiry ----------------------------------------------------------------------------------------
def test_the_expiry_sweep_ends_overdue_attempts(
    services_factory: Callable[..., Any], clock: FakeClock
) -> None:
    services = services_factory()
    w = seed(services, candidates=2)
    alice, bob = w.candidates
    proctored = w.app.start_attempt(alice, w.proctored)  # 600 s
    open_book = w.app.start_attempt(bob, w.open_book)  # 1200 s
    w.app.save_answer(alice, proctored.id, "q1", 1)
    row_of(services, proctored.id, attempt_status="Active")
    row_of(services, open_book.id, attempt_status="Active")

    clock.advance(600 + SUBMIT_GRACE.total_seconds() - 1)  # past the deadline, inside the grace
    assert w.app.expire_overdue() == 0
    assert w.app.load_attempt(proctored.id).status == "Active"

    clock.advance(1)
    assert w.app.expire_overdue() == 1
    ended = w.app.load_attempt(proctored.id)
    session = w.app.load_session(ended)
    assert (ended.status, ended.ended_at, ended.score) == ("Expired", proctored.deadline, 1)
    assert (session.status, session.ended_at) == ("Completed", proctored.deadline)
    row = row_of(services, proctored.id, attempt_status="Expired", session_status="Completed")
    assert row["ended_at"] == proctored.deadline.isoformat()
    assert w.app.load_attempt(open_book.id).status == "Active"

    clock.advance(600)
    assert w.app.expire_overdue() == 1
    assert w.app.load_attempt(open_book.id).status == "Expired"
    row_of(services, open_book.id, attempt_status="Expired", session_status=None)
    assert w.app.expire_overdue() == 0
    with pytest.raises(Conflict):
        w.app.submit(alice, proctored.id)


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
