"""Reads see writes: a GET that reads a read model right after a command answers at once and
shows the command's effect, although the read model never receives some of the command's
events (the start's SessionStarted is not among the Proctor Center's topics)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.passwords import Argon2Hasher
from adapters.runtime.bootstrap import bootstrap
from adapters.runtime.services import Services
from application.config import AppSettings
from application.users import register_user
from interfaces.app_factory import create_app

FAST = 0.5  # seconds: the old wait timed out after 2.0 s
PASSWORD = "password-123"
EXAM = {
    "title": "Reads",
    "durationSeconds": 600,
    "proctoringEnabled": True,
    "questions": [{"id": "q1", "text": "2+2?", "choices": ["3", "4"], "answer": 1}],
}


def _build(settings: AppSettings) -> Services:
    services = bootstrap(settings, hasher=Argon2Hasher(time_cost=1, memory_cost=8192))
    for name, role in [("admin", "admin"), ("proctor", "proctor"), ("alice", "candidate")]:
        register_user(services.app, name, PASSWORD, role, name.title())
    return services


@pytest.fixture(params=["threads", "child process"])
def client(
    request: pytest.FixtureRequest, settings_factory: Callable[..., AppSettings]
) -> Iterator[TestClient]:
    settings = settings_factory(projection_process=request.param == "child process")
    with TestClient(create_app(settings, build=_build)) as client:
        yield client


def _login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['accessToken']}"}


def _timed_get(client: TestClient, path: str, headers: dict[str, str]) -> tuple[float, Any]:
    began = time.monotonic()
    r: httpx.Response = client.get(path, headers=headers)
    elapsed = time.monotonic() - began
    assert r.status_code == 200, r.text
    return elapsed, r.json()


def test_detail_timeline_and_list_right_after_each_command(client: TestClient) -> None:
    admin, proctor, alice = (_login(client, u) for u in ("admin", "proctor", "alice"))
    exam = client.post("/api/exams", json=EXAM, headers=admin)
    assert exam.status_code == 201, exam.text
    _, exams = _timed_get(client, "/api/exams", alice)
    assert exam.json()["id"] in [e["id"] for e in exams]

    started = client.post(f"/api/exams/{exam.json()['id']}/attempts", headers=alice)
    assert started.status_code == 200, started.text
    attempt = started.json()["attemptId"]
    elapsed, detail = _timed_get(client, f"/api/Proctor/sessions/{attempt}", proctor)
    assert elapsed < FAST, f"detail after start took {elapsed:.2f}s"
    assert detail["session"]["attemptId"] == attempt
    assert [i["kind"] for i in detail["timeline"]][:1] == ["started"]

    answered = client.put(f"/api/attempts/{attempt}/answers/q1", json={"choice": 1}, headers=alice)
    assert answered.status_code == 200, answered.text
    for path in (
        f"/api/Proctor/sessions/{attempt}",
        f"/api/Proctor/timeline/{attempt}",
        "/api/Proctor/sessions",
    ):
        elapsed, _ = _timed_get(client, path, proctor)
        assert elapsed < FAST, f"{path} after an answer (no read model takes it) took {elapsed:.2f}s"

    event = client.post(f"/api/Proctor/event/{attempt}", json={"type": "camera_denied"}, headers=alice)
    assert event.status_code == 201, event.text
    elapsed, items = _timed_get(client, f"/api/Proctor/timeline/{attempt}", proctor)
    assert elapsed < FAST, f"timeline after an event took {elapsed:.2f}s"
    assert "camera_denied" in " ".join(f"{i['kind']} {i['label']} {i['detail']}" for i in items)
    elapsed, sessions = _timed_get(client, "/api/Proctor/sessions", proctor)
    assert elapsed < FAST, f"list after an event took {elapsed:.2f}s"
    (row,) = [s for s in sessions if s["attemptId"] == attempt]
    assert row["riskReasons"] == [{"type": "camera_denied", "count": 1, "points": 25}]
