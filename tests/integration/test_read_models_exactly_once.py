"""Read models apply each event exactly once (SQLite and PostgreSQL): a replayed event is refused,
a rebuild from the event store gives identical rows, two instances' workers share one view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, Tracking
from fakes import FakeClock
from helpers import dump_rows
from lifecycle_world import PROJECTIONS, everything_caught_up, row_of, seed

from adapters.read_models import build_view
from adapters.runtime.followers import FollowerRunner, ReadModel
from adapters.sql_view import table_names
from application import attempts, evidence, staff


# -- exactly once --------------------------------------------------------------------------------
def test_replaying_a_tracked_event_is_refused_and_changes_nothing(
    services_factory: Callable[..., Any],
) -> None:
    services = services_factory()
    w = seed(services)
    attempt = attempts.start_attempt(w.app, w.candidates[0], w.proctored)
    staff.flag(w.app, w.proctor, attempt.id, "look left")
    staff.warn(w.app, w.proctor, attempt.id, "eyes on the screen")
    evidence.record_client_event(w.app, w.candidates[0], attempt.id, "tab_hidden", "")
    attempts.submit(w.app, w.candidates[0], attempt.id)
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
    first = attempts.start_attempt(w.app, a, w.proctored)
    second = attempts.start_attempt(w.app, b, w.proctored)
    attempts.start_attempt(w.app, c, w.open_book)
    attempts.save_answer(w.app, a, first.id, "q1", 1)
    evidence.record_client_event(w.app, a, first.id, "camera_denied", "NotAllowedError")
    evidence.record_client_event(w.app, b, second.id, "live_connected", "")
    staff.flag(w.app, w.proctor, second.id, "phone")
    attempts.submit(w.app, a, first.id)
    clock.advance(5)
    attempts.force_end(w.app, w.admin, second.id, "phone")
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
    attempt = attempts.start_attempt(w.app, w.candidates[0], w.proctored)
    flags = 12
    for i in range(flags):
        staff.flag((one if i % 2 else two).app, w.proctor, attempt.id, f"flag {i}")
    row = row_of(one, attempt.id, flag_count=flags)
    everything_caught_up(one)
    everything_caught_up(two)
    row = row_of(two, attempt.id, flag_count=flags)
    assert row["risk_reasons"] == [{"type": "flagged", "count": flags, "points": 20 * flags}]
    items = one.timeline.items(attempt.id)
    assert [i["kind"] for i in items].count("flagged") == flags
