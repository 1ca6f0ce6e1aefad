"""Two-process deployment on SQLite: `serve` with RUN_PROJECTIONS=false beside `smart-exam worker`.
The read models are built by the worker process, and the server's SSE stream still sees every change."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import wait_until
from test_postgres_processes import PASSWORD, ROOT, _free_port, _token, start_seen_on_stream

from adapters.passwords import Argon2Hasher
from application.config import AppSettings
from interfaces.bootstrap import bootstrap


@pytest.fixture
def split(tmp_path: Path) -> Iterator[str]:
    seeded = bootstrap(AppSettings(data_dir=tmp_path), hasher=Argon2Hasher(1, 8192), run_workers=False)
    for name, role in [("admin", "admin"), ("proctor", "proctor"), ("alice", "candidate")]:
        seeded.app.register_user(name, PASSWORD, role, name.title())
    seeded.close()
    env = {**os.environ, "SMART_EXAM_DATA_DIR": str(tmp_path), "SMART_EXAM_RUN_PROJECTIONS": "false",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    port = _free_port()
    run = [sys.executable, "-m", "interfaces.cli"]
    quiet = {"cwd": ROOT, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen([*run, "worker"], **quiet),  # type: ignore[call-overload]
        subprocess.Popen([*run, "serve", "--host", "127.0.0.1", "--port", str(port)], **quiet),  # type: ignore[call-overload]
    ]
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=40, interval=0.2, what="server up")
        yield base
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)


def test_worker_process_builds_the_read_models_the_server_streams(split: str) -> None:
    _, session = start_seen_on_stream(write=split, stream_from=split)
    assert session["candidateName"] == "Alice"
    proctor = _token(split, "proctor")
    rows = wait_until(
        lambda: httpx.get(f"{split}/api/exams", headers=proctor).json(), what="exam listed by the worker"
    )
    assert rows[0]["title"] == "Cross-process"
