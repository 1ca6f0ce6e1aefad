"""The follower runner with a follower that is not a read model (the shape a process manager
takes): only its topics reach it, its tracking covers what it examined, and a waiting read is
woken by its progress on the bus."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, DomainEventProtocol, event
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.popo import POPOTrackingRecorder

from adapters.runtime.bus import EVENTS_RECORDED, LocalBus
from adapters.runtime.followers import FollowerRunner, wait_until_applied
from projections.rows import topics_of


class Job(Aggregate):
    @event("Opened")
    def __init__(self) -> None:
        self.state = "open"

    @event("Touched")
    def touch(self) -> None:
        self.state = "touched"

    class Closed(Aggregate.Event):
        pass

    @event(Closed)
    def close(self) -> None:
        self.state = "closed"


class ClosedJobs:
    """Reacts to Job.Closed only, as the recordings process manager reacts to Submitted."""

    name = "closed_jobs"
    topics = topics_of(Job.Closed)

    def __init__(self) -> None:
        self.tracking: TrackingRecorder = POPOTrackingRecorder()
        self.seen: list[UUID] = []

    def process(self, domain_event: DomainEventProtocol[Any], tracking: Tracking) -> None:
        self.seen.append(domain_event.originator_id)
        self.tracking.insert_tracking(tracking)

    def batch(self) -> AbstractContextManager[None]:
        return nullcontext()


@pytest.fixture
def app() -> Iterator[Application[UUID]]:
    application: Application[UUID] = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield application
    application.close()


def _job(app: Application[UUID], closed: bool) -> UUID:
    job = Job()
    job.touch()
    if closed:
        job.close()
    app.save(job)
    return job.id


def test_only_its_topics_reach_it_and_tracking_covers_what_it_examined(app: Application[UUID]) -> None:
    closed = _job(app, closed=True)
    _job(app, closed=False)  # the log ends with events this follower never takes
    follower = ClosedJobs()
    runner = FollowerRunner(app, follower)
    assert runner.catch_up() == 1
    assert follower.seen == [closed]
    assert follower.tracking.max_tracking_id(app.name) == app.recorder.max_notification_id()
    assert runner.catch_up() == 0


def test_a_waiting_read_is_woken_by_the_followers_progress(app: Application[UUID]) -> None:
    bus = LocalBus()
    follower = ClosedJobs()
    runner = FollowerRunner(app, follower, bus, poll_seconds=30.0)  # only the bus wakes it
    runner.start()
    try:
        _job(app, closed=False)
        bus.publish(EVENTS_RECORDED, {})
        position = app.recorder.max_notification_id() or 0
        began = time.monotonic()
        assert wait_until_applied(bus, follower.tracking, app.name, follower.name, position, timeout=2.0)
        assert time.monotonic() - began < 0.09  # the library's own first poll is 0.1 s later
        assert not wait_until_applied(bus, follower.tracking, app.name, follower.name, position + 1, 0.2)
    finally:
        runner.stop()
