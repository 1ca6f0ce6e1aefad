"""Projections in another process on SQLite, both ways it is deployed:
- `serve` with RUN_PROJECTIONS=false beside `smart-exam worker`;
- `serve` alone with PROJECTION_PROCESS=true (the default on >= 2 CPUs): it supervises a child.
The read models are built by the other process, and the server's SSE stream still sees every change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from helpers import wait_until
from test_postgres_processes import PASSWORD, ROOT, _free_port, _token, start_seen_on_stream

from adapters.passwords import Argon2Hasher
from adapters.runtime.bootstrap import bootstrap
from application.config import AppSettings
from application.users import register_user

DEPLOYMENTS = {
    "serve+worker": ({"SMART_EXAM_RUN_PROJECTIONS": "false"}, True),
    "serve-with-child": ({"SMART_EXAM_PROJECTION_PROCESS": "true"}, False),
}


@dataclass
class Deployment:
    base: str
    server: subprocess.Popen[bytes]


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(params=sorted(DEPLOYMENTS))
def split(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    seeded = bootstrap(AppSettings(data_dir=tmp_path), hasher=Argon2Hasher(1, 8192), run_workers=False)
    for name, role in [("admin", "admin"), ("proctor", "proctor"), ("alice", "candidate")]:
        register_user(seeded.app, name, PASSWORD, role, name.title())
    seeded.close()
    extra, own_worker = DEPLOYMENTS[request.param]
    env = {**os.environ, "SMART_EXAM_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), **extra}
    port = _free_port()
    run = [sys.executable, "-m", "interfaces.cli"]
    quiet = {"cwd": ROOT, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([*run, "worker"], **quiet)] if own_worker else []  # type: ignore[call-overload]
    server = subprocess.Popen([*run, "serve", "--host", "127.0.0.1", "--port", str(port)], **quiet)  # type: ignore[call-overload]
    procs.append(server)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(base), timeout=40, interval=0.2, what="server up")
        yield Deployment(base, server)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)


def test_the_other_process_builds_the_read_models_the_server_streams(split: Deployment) -> None:
    _, session = start_seen_on_stream(write=split.base, stream_from=split.base)
    assert session["candidateName"] == "Alice"
    proctor = _token(split.base, "proctor")
    rows = wait_until(
        lambda: httpx.get(f"{split.base}/api/exams", headers=proctor).json(), what="exam listed by the worker"
    )
    assert rows[0]["title"] == "Cross-process"


def _children(parent: int) -> list[int]:
    """Live projection children (not multiprocessing's resource tracker), from /proc (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z" and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("split", ["serve-with-child"], indirect=True)
def test_the_child_is_restarted_after_a_crash_and_dies_with_the_server(split: Deployment) -> None:
    first = wait_until(lambda: _children(split.server.pid), what="projection child")[0]
    os.kill(first, signal.SIGKILL)
    second = wait_until(
        lambda: [c for c in _children(split.server.pid) if c != first], timeout=15, what="restarted child"
    )[0]
    start_seen_on_stream(write=split.base, stream_from=split.base)  # projections work again
    os.kill(split.server.pid, signal.SIGKILL)  # no shutdown hook runs: the child must notice alone
    split.server.wait(10)
    wait_until(lambda: not _alive(second), timeout=10, what="orphaned child exits")
