"""A seeded world for the lifecycle integration tests: users, two exams, and ways to wait until
the read models have caught up with the log."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from helpers import wait_until

from application import exams, users
from application.access import Actor
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
        user = users.register_user(app, name, PASSWORD, role, name.title())
        return Actor(user.id, role, user.display_name)

    admin, proctor = actor("admin", "admin"), actor("proctor", "proctor")
    people = [actor(f"cand{i}", "candidate") for i in range(candidates)]
    proctored = exams.create_exam(app, admin, "Proctored", 600, True, QUESTIONS, 1).id
    open_book = exams.create_exam(app, admin, "Open book", 1200, False, QUESTIONS, 1).id
    return World(services, admin, proctor, people, proctored, open_book)


def row_of(services: Any, attempt_id: UUID, **expected: Any) -> dict[str, Any]:
    """Waits (bounded, 5 s) until the Proctor Center row has the expected values."""

    def matches(row: dict[str, Any] | None) -> bool:
        return row is not None and all(row.get(k) == v for k, v in expected.items())

    row = wait_until(lambda: services.center.session(attempt_id), matches, what=f"center row {expected}")
    assert row is not None
    return row


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
