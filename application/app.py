"""The event-sourced application: every command loads, decides, and saves in one transaction."""

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

from application.access import Actor, require_role
from application.ports import ActiveAttempts, Clock, PasswordHasher
from domain import ids
from domain.attempts import Attempt
from domain.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from domain.exams import Exam, Question, validate_questions
from domain.proctoring import ProctorSession
from domain.settings import Settings
from domain.users import ROLES, User

A = TypeVar("A", bound=Aggregate)


class CoreApp(Application[UUID]):
    """Persistence helpers, users, exams and settings. Attempts: see lifecycle.py."""

    name = "SmartExam"
    snapshotting_intervals = {Attempt: 100, ProctorSession: 100}

    def __init__(
        self,
        env: Mapping[str, str],
        clock: Clock,
        hasher: PasswordHasher,
        default_retention_days: int = 30,
    ) -> None:
        super().__init__(env=env)
        self.clock = clock
        self.hasher = hasher
        self.default_retention_days = default_retention_days
        self.active_attempts: ActiveAttempts | None = None
        self._exams: dict[UUID, Exam] = {}

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        """Only our settings configure the store: eventsourcing would also merge os.environ."""
        merged = dict(type(self).env)
        if type(self).is_snapshotting_enabled or type(self).snapshotting_intervals:
            merged["IS_SNAPSHOTTING_ENABLED"] = "y"
        merged.update(env or {})
        return Environment(name, merged)

    # -- persistence helpers -------------------------------------------------------------
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
            self._forget(*aggregates)
            raise Conflict("another change to this object was saved first; reload and retry") from None
        self._remember(*aggregates)
        return recordings[-1].notification.id if recordings else 0

    def _remember(self, *aggregates: Aggregate | None) -> None:
        """Cache what was just saved (eventsourcing only does so without fast-forward), so the
        next command on it starts from memory and fast-forwards by one cheap query."""
        cache = self.repository.cache
        for aggregate in aggregates:
            if cache is not None and aggregate is not None:
                cache.put(aggregate.id, copy.deepcopy(aggregate))

    def _forget(self, *aggregates: Aggregate | None) -> None:
        """Drop cached copies after a conflict: another writer (a CLI command, another
        process) got there first, so the next load must read the store."""
        cache = self.repository.cache
        for aggregate in aggregates:
            if cache is not None and aggregate is not None:
                with contextlib.suppress(KeyError):
                    cache.get(aggregate.id, evict=True)

    # -- users ---------------------------------------------------------------------------
    def register_user(self, username: str, password: str, role: str, display_name: str = "") -> User:
        if role not in ROLES:
            raise InvalidInput(f"role must be one of: {', '.join(ROLES)}")
        if not username.strip() or len(password) < 8:
            raise InvalidInput("username is required and password needs 8+ characters")
        user = User(
            username=username.strip(),
            display_name=display_name.strip() or username.strip(),
            role=role,
            password_hash=self.hasher.hash(password),
        )
        try:
            self.save(user)
        except IntegrityError:
            raise Conflict(f"user {username!r} already exists") from None
        return user

    def authenticate(self, username: str, password: str) -> User:
        try:
            user = self.load(User, ids.user_id(username), "user")
        except NotFound:
            self.hasher.hash(password)  # same cost either way: no user enumeration by timing
            raise NotAuthenticated("wrong username or password") from None
        if not self.hasher.verify(user.password_hash, password):
            raise NotAuthenticated("wrong username or password")
        return user

    def load_user_by_name(self, username: str) -> User:
        return self.load(User, ids.user_id(username), "user")

    def get_user(self, user_id: UUID) -> User:
        return self.load(User, user_id, "user")

    # -- exams ---------------------------------------------------------------------------
    def create_exam(
        self,
        actor: Actor,
        title: str,
        duration_seconds: int,
        proctoring_enabled: bool,
        questions: list[Question],
        pass_mark: int | None = None,
    ) -> Exam:
        require_role(actor, "admin")
        validate_questions(questions)
        mark = len(questions) if pass_mark is None else pass_mark
        if not 0 <= mark <= len(questions):
            raise InvalidInput("passMark must be between 0 and the number of questions")
        exam = Exam(
            title=title.strip(),
            duration_seconds=duration_seconds,
            proctoring_enabled=proctoring_enabled,
            questions=[dict(q) for q in questions],
            pass_mark=mark,
        )
        self.commit(exam)
        return exam

    def get_exam(self, exam_id: UUID) -> Exam:
        """Exams never change after creation, so each is loaded from the store once."""
        exam = self._exams.get(exam_id)
        if exam is None:
            exam = self._exams[exam_id] = self.load(Exam, exam_id, "exam")
        return exam

    # -- settings ------------------------------------------------------------------------
    def get_settings(self) -> Settings:
        try:
            return self.load(Settings, ids.settings_id(), "settings")
        except NotFound:
            return Settings(retention_days=self.default_retention_days)

    def change_retention_days(self, actor: Actor, days: int) -> Settings:
        require_role(actor, "admin")
        settings = self.get_settings()
        settings.change_retention_days(actor.user_id, days)
        self.commit(settings)
        return settings
