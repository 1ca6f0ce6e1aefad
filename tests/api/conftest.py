"""API tests: the real app (create_app) over the real SQLite store, driven through HTTP (ASGI)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from adapters.passwords import Argon2Hasher
from adapters.runtime.bootstrap import bootstrap
from adapters.runtime.services import Services
from application.config import AppSettings
from application.users import register_user
from interfaces.app_factory import create_app

PASSWORD = "password-123"
QUESTIONS = [
    {"id": "q1", "text": "2+2?", "choices": ["3", "4"], "answer": 1},
    {"id": "q2", "text": "Capital of France?", "choices": ["Paris", "Rome", "Oslo"], "answer": 0},
]


def jpeg(width: int = 640, height: int = 480) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buf, "JPEG", quality=70)
    return buf.getvalue()


@dataclass
class Api:
    client: TestClient
    services: Services
    data_dir: Path
    admin: dict[str, str] = field(default_factory=dict)
    alice: dict[str, str] = field(default_factory=dict)
    bob: dict[str, str] = field(default_factory=dict)
    proctor: dict[str, str] = field(default_factory=dict)

    def login(self, username: str) -> dict[str, str]:
        r = self.client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['accessToken']}"}

    def exam(self, proctoring: bool = True, duration: int = 600) -> str:
        body = {
            "title": "Exam",
            "durationSeconds": duration,
            "proctoringEnabled": proctoring,
            "questions": QUESTIONS,
        }
        r = self.client.post("/api/exams", json=body, headers=self.admin)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def start(self, exam_id: str, who: dict[str, str]) -> dict[str, Any]:
        r = self.client.post(f"/api/exams/{exam_id}/attempts", headers=who)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def event_count(self) -> int:
        return int(self.services.app.recorder.max_notification_id() or 0)

    def media_files(self) -> list[Path]:
        return [p for p in (self.data_dir / "MediaStorage").rglob("*") if p.is_file()]


def build_with_users(settings: AppSettings) -> Services:
    services = bootstrap(settings, hasher=Argon2Hasher(time_cost=1, memory_cost=8192))
    for name, role in [
        ("admin", "admin"),
        ("proctor", "proctor"),
        ("supervisor", "supervisor"),
        ("auditor", "auditor"),
        ("alice", "candidate"),
        ("bob", "candidate"),
    ]:
        register_user(services.app, name, PASSWORD, role, name.title())
    return services


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = AppSettings(
        data_dir=tmp_path, expiry_sweep_seconds=3600, max_snapshot_pixels=1280 * 720, projection_process=False
    )
    app = create_app(settings, build=build_with_users)
    with TestClient(app) as client:
        a = Api(client, app.state.services, tmp_path)
        a.admin, a.alice, a.bob, a.proctor = (a.login(u) for u in ("admin", "alice", "bob", "proctor"))
        yield a


def make_api(settings: AppSettings) -> Iterator[Api]:
    """The real app on `settings`' store, logged in as admin, alice, bob and proctor."""
    app = create_app(settings, build=build_with_users)
    with TestClient(app) as client:
        a = Api(client, app.state.services, settings.data_dir)
        a.admin, a.alice, a.bob, a.proctor = (a.login(u) for u in ("admin", "alice", "bob", "proctor"))
        yield a


CHUNK_CAP = 1024 * 1024  # SMART_EXAM_MAX_CHUNK_BYTES in the chunk tests


@pytest.fixture
def chunk_api(settings_factory: Any) -> Iterator[Api]:
    """Like `api`, on SQLite and on PostgreSQL (the `backend` parameter), chunks capped at 1 MiB."""
    yield from make_api(settings_factory(max_chunk_bytes=CHUNK_CAP))
