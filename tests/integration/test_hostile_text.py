"""Class 1 of issue 12: text with control characters is refused where requests are validated
(and again by the commands), on SQLite and PostgreSQL alike; a follower that cannot apply an
event says which one and why on /healthz, keeps the others going, and clears when it recovers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.popo import POPOTrackingRecorder
from fastapi.testclient import TestClient
from helpers import wait_until

from adapters.passwords import Argon2Hasher
from adapters.runtime.bootstrap import bootstrap
from adapters.runtime.followers import FollowerRunner
from adapters.runtime.services import TIMELINE, Services
from application.config import AppSettings
from application.users import register_user
from domain.proctoring import ProctorSession
from interfaces.app_factory import create_app
from projections.rows import topics_of

PASSWORD = "password-123"
QUESTION = {"id": "q1", "text": "2+2?", "choices": ["3", "4"], "answer": 1}
EXAM = {"title": "Hostile", "durationSeconds": 600, "proctoringEnabled": True, "questions": [QUESTION]}


def _build(settings: AppSettings) -> Services:
    services = bootstrap(settings, hasher=Argon2Hasher(time_cost=1, memory_cost=8192))
    for name, role in [("admin", "admin"), ("alice", "candidate")]:
        register_user(services.app, name, PASSWORD, role, name.title())
    return services


@pytest.fixture
def client(settings_factory: Callable[..., AppSettings]) -> Iterator[TestClient]:
    with TestClient(create_app(settings_factory(), build=_build)) as client:
        yield client


def _login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['accessToken']}"}


def _attempt(client: TestClient) -> tuple[dict[str, str], str]:
    admin, alice = _login(client, "admin"), _login(client, "alice")
    exam = client.post("/api/exams", json=EXAM, headers=admin).json()["id"]
    attempt = client.post(f"/api/exams/{exam}/attempts", headers=alice).json()["attemptId"]
    return alice, str(attempt)


BAD_TEXT = ["a\x00b", "\x00", "x\x1by", "line\u2028sep", "\x7f"]


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_control_characters_are_refused_in_every_text_field(client: TestClient, bad: str) -> None:
    admin = _login(client, "admin")
    question = {**QUESTION, "id": bad}
    for exam in (
        {**EXAM, "title": bad},
        {**EXAM, "questions": [question]},
        {**EXAM, "questions": [{**QUESTION, "choices": ["3", bad]}]},
        {**EXAM, "questions": [{**QUESTION, "text": f"ok {bad}"}]},
    ):
        r = client.post("/api/exams", json=exam, headers=admin)
        assert r.status_code == 422, (exam, r.text)
        assert r.json()["error"] == "InvalidInput"
    alice, attempt = _attempt(client)
    event = {"type": "tab_hidden", "detail": bad}
    r = client.post(f"/api/Proctor/event/{attempt}", json=event, headers=alice)
    assert r.status_code == 422, r.text
    r = client.put(f"/api/attempts/{attempt}/answers/q1%00", json={"choice": 1}, headers=alice)
    assert r.status_code == 422, r.text
    r = client.post("/api/auth/login", json={"username": f"alice{bad}", "password": PASSWORD})
    assert r.status_code == 422, r.text


def test_length_caps_and_newlines_in_notes(client: TestClient) -> None:
    alice, attempt = _attempt(client)
    too_long = {"type": "tab_hidden", "detail": "x" * 2001}
    assert client.post(f"/api/Proctor/event/{attempt}", json=too_long, headers=alice).status_code == 422
    fine = {"type": "tab_hidden", "detail": "left\tthe tab\nfor a while"}
    assert client.post(f"/api/Proctor/event/{attempt}", json=fine, headers=alice).status_code == 201
    admin = _login(client, "admin")
    long_choice = {**EXAM, "questions": [{**QUESTION, "choices": ["3", "x" * 501]}]}
    assert client.post("/api/exams", json=long_choice, headers=admin).status_code == 422


class FailsOnDetail:
    """A follower that cannot apply one event (as PostgreSQL could not apply a NUL)."""

    name = "fragile"
    topics = topics_of(ProctorSession.ProctorEventRecorded)

    def __init__(self, poison: str) -> None:
        self.poison = poison
        self.tracking: TrackingRecorder = POPOTrackingRecorder()
        self.applied: list[str] = []

    def process(self, event: DomainEventProtocol[Any], tracking: Tracking) -> None:
        detail = str(getattr(event, "detail", ""))
        if detail == self.poison:
            raise ValueError(f"cannot store {detail!r}")
        self.applied.append(detail)
        self.tracking.insert_tracking(tracking)

    def batch(self) -> AbstractContextManager[None]:
        return nullcontext()


def test_a_follower_that_cannot_apply_an_event_reports_it(client: TestClient) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    alice, attempt = _attempt(client)
    positions = []
    for detail in ("before", "poison", "after"):
        body = {"type": "tab_hidden", "detail": detail}
        r = client.post(f"/api/Proctor/event/{attempt}", json=body, headers=alice)
        positions.append(r.json()["position"])
    follower = FailsOnDetail("poison")
    runner = FollowerRunner(services.app, follower, services.bus, 0.05, services.faults)
    runner.start()
    try:
        health = wait_until(lambda: client.get("/healthz").json(), lambda h: h["status"] == "degraded")
        (fault,) = health["followers"]
        assert fault["name"] == "fragile" and fault["position"] == positions[1]
        assert "cannot store 'poison'" in fault["error"] and fault["topic"].endswith("ProctorEventRecorded")
        assert follower.applied == ["before"]  # applied up to the event it cannot apply
        # the real read models are not held up by it
        assert services.wait_until_current(TIMELINE, timeout=2.0)
        follower.poison = "nothing"  # the operator fixes the cause: it catches up and clears
        wait_until(lambda: client.get("/healthz").json()["status"], lambda s: s == "ok", timeout=15)
        assert follower.applied == ["before", "poison", "after"]
    finally:
        runner.stop()
