"""A client that goes away mid-body, over real HTTP (uvicorn on 127.0.0.1): the part of the
snapshot already streamed to its file is removed, and nothing is recorded."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from helpers import wait_until

from adapters.ingest.pipeline import FLUSH_BYTES
from application.config import AppSettings
from interfaces.app_factory import create_app
from tests.api.conftest import PASSWORD, build_with_users, jpeg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, object]]:
    settings = AppSettings(data_dir=tmp_path, expiry_sweep_seconds=3600, projection_process=False)
    app = create_app(settings, build=build_with_users)
    config = uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    wait_until(lambda: running.started, what="uvicorn started")
    try:
        yield f"http://127.0.0.1:{config.port}", app
    finally:
        running.should_exit = True
        thread.join(10)


def test_a_client_gone_mid_body_leaves_no_file_and_no_event(
    server: tuple[str, object], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base, app = server
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
        tokens = {}
        for name in ("admin", "alice"):
            r = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
            tokens[name] = {"Authorization": f"Bearer {r.json()['accessToken']}"}
        exam = {"title": "Exam", "durationSeconds": 600, "proctoringEnabled": True, "questions": []}
        exam["questions"] = [{"id": "q1", "text": "2+2?", "choices": ["3", "4"], "answer": 1}]
        exam_id = client.post("/api/exams", json=exam, headers=tokens["admin"]).json()["id"]
        attempt = client.post(f"/api/exams/{exam_id}/attempts", headers=tokens["alice"]).json()["attemptId"]
    services = app.state.services  # type: ignore[attr-defined]
    before = services.app.recorder.max_notification_id()
    body = jpeg() + b"\x00" * (3 * FLUSH_BYTES)
    head = (
        f"POST /api/Proctor/snapshot/{attempt} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {tokens['alice']['Authorization']}\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    caplog.set_level(logging.INFO, logger="interfaces.errors")
    with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1]))) as sock:
        sock.sendall(head.encode() + body[: 2 * FLUSH_BYTES])  # more than one piece: a file exists
    wait_until(lambda: "client went away" in caplog.text, what="the server saw the client go away")
    media = tmp_path / "MediaStorage"
    assert [p for p in media.rglob("*") if p.is_file()] == []
    assert services.app.recorder.max_notification_id() == before
