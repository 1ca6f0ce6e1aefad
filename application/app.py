"""The event-sourced application: the store, the ports, and the persistence helpers every command
uses. The commands are plain functions grouped by area (users, exams, attempts, evidence, staff,
admin), each taking the app first: every one loads, decides, and saves in one transaction."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import Environment

from application.ports import ActiveAttempts, Clock, PasswordHasher
from domain.attempts import Attempt
from domain.errors import Conflict, NotFound
from domain.exams import Exam
from domain.proctoring import ProctorSession
from domain.recordings import Recording

APP_NAME = "SmartExam"
A = TypeVar("A", bound=Aggregate)


class SmartExamApp(Application[UUID]):
    name = APP_NAME
    snapshotting_intervals = {Attempt: 100, ProctorSession: 100, Recording: 100}

    def __init__(
        self,
        env: Mapping[str, str],
        clock: Clock,
        hasher: PasswordHasher,
        default_retention_days: int = 30,
        *,
        video_recording: bool = True,
        chunk_seconds: float = 3.0,
    ) -> None:
        super().__init__(env=env)
        self.clock = clock
        self.hasher = hasher
        self.default_retention_days = default_retention_days
        self.video_recording = video_recording  # SMART_EXAM_ENABLE_VIDEO_RECORDING
        self.chunk_seconds = chunk_seconds  # the recorder's timeslice, for gap estimates
        self.active_attempts: ActiveAttempts | None = None
        self.exam_cache: dict[UUID, Exam] = {}  # exams never change: see exams.get_exam

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        """Only our settings configure the store: eventsourcing would also merge os.environ."""
        merged = dict(type(self).env)
        if type(self).is_snapshotting_enabled or type(self).snapshotting_intervals:
            merged["IS_SNAPSHOTTING_ENABLED"] = "y"
        merged.update(env or {})
        return Environment(name, merged)

    def load(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"{what} {aggregate_id} not found") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"{what} {aggregate_id} not found")
        return aggregate

    def peek(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        """A copy of the aggregate as this process last saw it, without asking the store for
        newer events (it is loaded on a cache miss). Only for decisions that the commit checks
        again: a newer event saved by another process makes that commit conflict."""
        cache = self.repository.cache
        if cache is not None:
            with contextlib.suppress(KeyError):
                aggregate = cache.get(aggregate_id)
                if isinstance(aggregate, cls):
                    return copy.deepcopy(aggregate)
        return self.load(cls, aggregate_id, what)

    def position(self) -> int:
        """The position of the latest event recorded (0 when none)."""
        return self.recorder.max_notification_id() or 0

    def commit(self, *aggregates: Aggregate | None) -> int:
        """Save atomically; a concurrent writer that got there first makes this a 409."""
        try:
            recordings = self.save(*aggregates)
        except IntegrityError:
            self.forget(*aggregates)
            raise Conflict("another change to this object was saved first; reload and retry") from None
        self.remember(*aggregates)
        return recordings[-1].notification.id if recordings else 0

    def remember(self, *aggregates: Aggregate | None) -> None:
        """Cache what was just saved (eventsourcing only does so without fast-forward), so the
        next command on it starts from memory and fast-forwards by one cheap query."""
        cache = self.repository.cache
        for aggregate in aggregates:
            if cache is not None and aggregate is not None:
                cache.put(aggregate.id, copy.deepcopy(aggregate))

    def forget(self, *aggregates: Aggregate | None) -> None:
        """Drop cached copies after a conflict: another writer (a CLI command, another
        process) got there first, so the next load must read the store."""
        cache = self.repository.cache
        for aggregate in aggregates:
            if cache is not None and aggregate is not None:
                with contextlib.suppress(KeyError):
                    cache.get(aggregate.id, evict=True)
