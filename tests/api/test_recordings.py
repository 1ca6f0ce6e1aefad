"""The Attempt Video Page's API over real HTTP (uvicorn) with real ffmpeg, chunks uploaded
through the chunk route: who may read a recording, 404s, the SSE status stream (first message,
then the change to Ready), the result with its segment map and retention, and the MP4 through
the authorized route with Range (206)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from helpers import wait_until
from recording_media import H264_MKV
from recording_seed import clip_chunks

from application.config import AppSettings
from interfaces.app_factory import create_app
from tests.api.conftest import QUESTIONS, build_with_users
from tests.api.test_sse import _free_port, sse_events

STAFF_WHO_REVIEW = ("proctor", "supervisor", "admin")


@pytest.fixture(scope="module")
def chunks(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    return clip_chunks(tmp_path_factory.mktemp("clip"))


class Served:
    def __init__(self, tmp: Path) -> None:
        settings = AppSettings(data_dir=tmp, expiry_sweep_seconds=3600, projection_process=False,
                               finalize_interval_seconds=0.2)  # fmt: skip
        self.app = create_app(settings, build=build_with_users)
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.tokens: dict[str, dict[str, Any]] = {}

    def login(self, username: str) -> dict[str, Any]:
        if username not in self.tokens:
            body = {"username": username, "password": "password-123"}
            self.tokens[username] = httpx.post(f"{self.url}/api/auth/login", json=body).json()
        return self.tokens[username]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login(username)['accessToken']}"}

    def get(self, path: str, who: str, **kw: Any) -> httpx.Response:
        headers = {**self.auth(who), **kw.pop("headers", {})}
        return httpx.get(f"{self.url}{path}", headers=headers, timeout=10, **kw)

    def attempt(self) -> str:
        body = {"title": "Recorded", "durationSeconds": 600, "questions": QUESTIONS}
        exam = httpx.post(f"{self.url}/api/exams", json=body, headers=self.auth("admin")).json()["id"]
        start = httpx.post(f"{self.url}/api/exams/{exam}/attempts", headers=self.auth("alice"))
        return str(start.json()["attemptId"])

    def upload(self, attempt_id: str, chunks: list[bytes]) -> None:
        """Through the chunk route (POST /api/Proctor/video-chunk/{id}), the last one final."""
        for seq, data in enumerate(chunks):
            final = "&final=1" if seq == len(chunks) - 1 else ""
            headers = {**self.auth("alice"), "x-chunk-sha256": hashlib.sha256(data).hexdigest(),
                       "content-type": H264_MKV}  # fmt: skip
            url = f"{self.url}/api/Proctor/video-chunk/{attempt_id}?segment=0&seq={seq}{final}"
            assert httpx.post(url, content=data, headers=headers, timeout=30).status_code == 201


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path)
    s.thread.start()
    wait_until(lambda: s.server.started, timeout=20, what="uvicorn start")
    yield s
    s.server.should_exit = True
    s.thread.join(10)


def test_who_may_read_a_recording_and_the_404s(served: Served) -> None:
    attempt = served.attempt()
    path = f"/api/Proctor/recording/{attempt}"
    for who in STAFF_WHO_REVIEW:
        r = served.get(path, who)
        assert r.status_code == 200, (who, r.text)
        body = r.json()
        assert (body["status"], body["videoUrl"], body["deleteAfter"]) == ("None", None, None)
        assert body["retentionDays"] == 30 and body["gaps"] == [] and body["segments"] == []
    for who in ("alice", "bob", "auditor"):
        assert served.get(path, who).status_code == 403
        assert served.get(f"{path}/video", who).status_code == 403
    assert httpx.get(f"{served.url}{path}").status_code == 401
    unknown = served.get(f"/api/Proctor/recording/{uuid4()}", "proctor")
    assert unknown.status_code == 404 and unknown.json()["error"] == "NotFound"
    not_ready = served.get(f"{path}/video", "supervisor")
    assert not_ready.status_code == 404 and "not Ready" in not_ready.json()["detail"]
    assert served.get(f"/api/Proctor/recording/{uuid4()}/stream", "proctor").status_code == 404
    assert served.get("/api/Proctor/recording/not-a-uuid", "proctor").status_code == 422


def test_stream_says_recording_then_ready_and_the_video_is_served_with_range(
    served: Served, chunks: list[bytes]
) -> None:
    attempt = served.attempt()
    served.upload(attempt, chunks)
    seen: list[dict[str, Any]] = []
    stream = f"{served.url}/api/Proctor/recording/{attempt}/stream"
    supervisor = served.auth("supervisor")
    with httpx.Client(timeout=60) as client, client.stream("GET", stream, headers=supervisor) as r:
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        for event in sse_events(r):
            assert event["event"] == "recording" and int(event["id"]) > 0
            seen.append({**json.loads(event["data"]), "id": int(event["id"])})
            if len(seen) == 1:
                assert seen[0]["status"] == "Recording" and seen[0]["videoUrl"] is None
                submit = f"{served.url}/api/attempts/{attempt}/submit"
                assert httpx.post(submit, headers=served.auth("alice")).status_code == 200
            if seen[-1]["status"] in ("Ready", "Failed"):
                break
    statuses = [s["status"] for s in seen]
    assert statuses[-1] == "Ready" and set(statuses) <= {"Recording", "Processing", "Ready"}
    assert len(statuses) == len(set(statuses)) and [s["id"] for s in seen] == sorted(s["id"] for s in seen)
    body = served.get(f"/api/Proctor/recording/{attempt}", "proctor").json()
    detail = served.get(f"/api/Proctor/sessions/{attempt}", "proctor").json()
    assert detail["recording"] == {"status": "Ready"}
    assert body["status"] == "Ready" and body["videoUrl"] == f"/api/Proctor/recording/{attempt}/video"
    assert body["durationSeconds"] == pytest.approx(4.0, abs=0.5) and body["codecPath"] == "remux"
    assert body["chunkCount"] == len(chunks) and body["gaps"] == [] and body["failureReason"] is None
    (segment,) = body["segments"]
    assert segment["segment"] == 0 and segment["videoOffsetSeconds"] == 0.0
    assert datetime.fromisoformat(segment["wallClockStart"]) <= datetime.fromisoformat(body["endedAt"])
    ended = datetime.fromisoformat(body["endedAt"])
    assert datetime.fromisoformat(body["deleteAfter"]) == ended + timedelta(days=30)
    mp4 = served.get(body["videoUrl"], "admin")
    assert mp4.status_code == 200 and len(mp4.content) == body["sizeBytes"]
    assert mp4.content[4:8] == b"ftyp" and mp4.headers["content-type"] == "video/mp4"
    assert mp4.headers["cache-control"] == "private, no-store"
    assert mp4.headers["x-content-type-options"] == "nosniff" and mp4.headers["accept-ranges"] == "bytes"
    part = served.get(body["videoUrl"], "proctor", headers={"Range": "bytes=100-299"})
    assert part.status_code == 206 and part.content == mp4.content[100:300]
    assert part.headers["content-range"] == f"bytes 100-299/{body['sizeBytes']}"
    tail = served.get(body["videoUrl"], "supervisor", headers={"Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.content == mp4.content[-16:]


def test_recording_switched_off_answers_404_with_a_clear_message(tmp_path: Path) -> None:
    settings = AppSettings(data_dir=tmp_path, projection_process=False, enable_video_recording=False)
    with TestClient(create_app(settings, build=build_with_users)) as client:
        token = client.post("/api/auth/login", json={"username": "proctor", "password": "password-123"})
        auth = {"Authorization": f"Bearer {token.json()['accessToken']}"}
        r = client.get(f"/api/Proctor/recording/{uuid4()}", headers=auth)
        assert r.status_code == 404 and r.json()["detail"] == "video recording is disabled on this server"
