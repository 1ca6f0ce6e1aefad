"""Scale-out on PostgreSQL: several server processes share one database. A change made through
one process reaches a dashboard streaming from another (LISTEN/NOTIFY), and every process sees
the same users, exams and sessions."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import wait_until

from adapters.runtime.bootstrap import bootstrap
from application.config import AppSettings
from application.users import register_user

PASSWORD = "password-123"
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "SMART_EXAM_DATABASE_URL": url,
        "SMART_EXAM_DATA_DIR": str(data_dir),
        "SMART_EXAM_SECRET_KEY": "shared-secret-for-this-test",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "interfaces.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None  # died: stop waiting, assert below

    wait_until(healthy, timeout=40, interval=0.2, what="server up")
    assert proc.poll() is None, "server process died at start"
    return proc, base


@pytest.fixture
def two_servers(fresh_pg_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    seeded = bootstrap(AppSettings(database_url=fresh_pg_url, data_dir=tmp_path / "cli"), run_workers=False)
    for name, role in [("admin", "admin"), ("proctor", "proctor"), ("alice", "candidate")]:
        register_user(seeded.app, name, PASSWORD, role, name.title())
    seeded.close()
    procs = []
    try:  # started together: table creation is serialised by an advisory lock
        a, url_a = _serve(fresh_pg_url, tmp_path / "a")
        procs.append(a)
        b, url_b = _serve(fresh_pg_url, tmp_path / "b")
        procs.append(b)
        yield url_a, url_b
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def _token(base: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['accessToken']}"}


def start_seen_on_stream(write: str, stream_from: str) -> tuple[str, dict[str, Any]]:
    """Admin creates an exam and alice starts it through `write`, while a proctor streams from
    `stream_from`; returns the attempt id and the session the stream delivered for it."""
    body = {
        "title": "Cross-process",
        "durationSeconds": 600,
        "questions": [{"id": "q", "text": "t", "choices": ["x", "y"], "answer": 0}],
    }
    exam = httpx.post(f"{write}/api/exams", json=body, headers=_token(write, "admin")).json()["id"]
    proctor = _token(stream_from, "proctor")
    with (
        httpx.Client(timeout=15) as client,
        client.stream("GET", f"{stream_from}/api/Proctor/sessions/stream", headers=proctor) as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines).startswith(("id:", "event:"))
        attempt = httpx.post(f"{write}/api/exams/{exam}/attempts", headers=_token(write, "alice")).json()
        for line in lines:  # bounded by the client timeout
            if line.startswith("data:") and attempt["attemptId"] in line:
                return str(attempt["attemptId"]), dict(json.loads(line[5:]))
    raise AssertionError("the stream ended without the new session")


@pytest.mark.postgres
def test_change_through_one_process_reaches_a_stream_on_another(two_servers: tuple[str, str]) -> None:
    a, b = two_servers
    attempt, session = start_seen_on_stream(write=a, stream_from=b)
    assert session["status"] == "Active" and session["candidateName"] == "Alice"
    httpx.post(f"{b}/api/Proctor/sessions/{attempt}/flag", json={"note": "x"}, headers=_token(b, "proctor"))
    rows = wait_until(
        lambda: httpx.get(f"{a}/api/Proctor/sessions", headers=_token(a, "proctor")).json(),
        lambda r: r and r[0]["flagCount"] == 1,
        what="flag made on B visible on A",
    )
    assert rows[0]["attemptId"] == attempt
