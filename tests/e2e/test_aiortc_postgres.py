"""Live video across two server processes on one PostgreSQL: the candidate's signaling socket is
on process A, the proctor's on process B, so every message crosses the bus (LISTEN/NOTIFY).

- Chromium pages: the exam page on A publishes, the session page on B shows Live, moving;
- aiortc peers: publisher on A, viewer on B, frames decode.

Run (loopback-only network namespace): ./test.sh tests/e2e/test_aiortc_postgres.py -q
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiortc_pages import attempt_of, force_end, run_async
from e2e_conftest import ROOT, LiveServer, _free_port, new_context
from live_aiortc import AiortcPublisher, AiortcViewer
from live_pages import (
    TIMINGS,
    candidate_publishing,
    clocked,
    open_session,
    report_timings,
    wait_live_and_moving,
)

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def _env(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMART_EXAM_", "SMARTEXAM_"))}
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(key, None)
    env.update(
        SMART_EXAM_DATABASE_URL=url,
        SMART_EXAM_DATA_DIR=str(data_dir),
        SMART_EXAM_SECRET_KEY="one-secret-for-both-processes",
        SMART_EXAM_EXPIRY_SWEEP_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def two_processes(postgres_server: Any) -> Iterator[tuple[LiveServer, LiveServer]]:
    url = postgres_server.create_database()
    base = Path(tempfile.mkdtemp(prefix="smart-exam-e2e-pg-"))
    servers: list[LiveServer] = []
    try:
        cmd, env = [sys.executable, "-m", "interfaces.cli", "migrate"], _env(url, base / "migrate")
        migrate = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        for name in ("a", "b"):  # one after the other: the demo seed runs in each
            (base / name).mkdir()
            server = LiveServer(f"http://127.0.0.1:{_free_port()}", base / name, base / name / "server.log",
                                _env(url, base / name))  # fmt: skip
            servers.append(server)
            server.start()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
        postgres_server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> Iterator[None]:
    yield from report_timings()


def test_chromium_candidate_on_a_proctor_on_b(
    two_processes: tuple[LiveServer, LiveServer], browser: Any
) -> None:
    a, b = two_processes
    candidate_ctx, proctor_ctx = new_context(browser), new_context(browser)
    attempt_id = ""
    try:
        _candidate, attempt_id = candidate_publishing(candidate_ctx, a)
        proctor = open_session(proctor_ctx, b, attempt_id, "proctor")
        clocked("cross_process_live", lambda: wait_live_and_moving(proctor, timeout_ms=10_000))
    finally:
        for ctx in (candidate_ctx, proctor_ctx):
            ctx.close()
        if attempt_id:
            force_end(a, attempt_id)


def test_aiortc_publisher_on_a_viewer_on_b(two_processes: tuple[LiveServer, LiveServer]) -> None:
    a, b = two_processes

    async def scenario(attempt_id: str) -> None:
        publisher = AiortcPublisher(a.url, attempt_id, a.token("candidate"))
        viewer = AiortcViewer(b.url, attempt_id, b.token("proctor"))
        try:
            await publisher.start()
            await viewer.start()
            await viewer.frames_above(10, timeout=15)
            TIMINGS["cross_process_aiortc_first_frame"] = viewer.time_to_first_frame or -1
            assert viewer.size == (640, 480)
        finally:
            for peer in (publisher, viewer):
                await peer.close(bye=False)

    with attempt_of(a) as attempt_id:
        run_async(scenario(attempt_id), 60)
