"""Finalization survives crashes and scale-out, with real processes and real ffmpeg:
- kill -9 a real `serve` (its whole process group: the server, its ffmpeg) while ffmpeg runs,
  restart it (this time with the projection child): the claim's lease runs out and the
  recording is finalized again: exactly one MP4 and one RecordingFinalized;
- two `smart-exam worker` processes on one PostgreSQL: each recording finalized exactly once.
ffmpeg is made slow through SMART_EXAM_FFMPEG: a wrapper that waits while a flag file exists."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from helpers import wait_until
from recording_seed import clip_chunks, event_names, recorded_attempt, seed
from test_postgres_processes import PASSWORD, ROOT, _free_port

from adapters.ffmpeg import resolve_ffmpeg
from adapters.passwords import Argon2Hasher
from adapters.runtime.bootstrap import bootstrap
from application import attempts
from application.access import Actor
from application.config import AppSettings
from application.users import load_user_by_name

COMPLETED = "Video processing completed"


@pytest.fixture(scope="module")
def chunks(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    return clip_chunks(tmp_path_factory.mktemp("clip"))


@pytest.fixture
def slow_ffmpeg(tmp_path: Path) -> Path:
    """An ffmpeg that leaves a mark when run and, while `slow` exists, waits before working."""
    folder = tmp_path / "ffmpeg"
    folder.mkdir()
    wrapper = folder / "ffmpeg"
    wrapper.write_text(
        "#!/bin/sh\n"
        'here="$(dirname "$0")"\n'
        'touch "$here/ran.$$"\n'
        'if [ -e "$here/slow" ]; then sleep 120; fi\n'
        f'exec "{resolve_ffmpeg()}" "$@"\n'
    )
    wrapper.chmod(0o755)
    (folder / "slow").touch()
    return wrapper


class Processes:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "interfaces.cli", *args],
                env={**os.environ, "PYTHONPATH": str(ROOT), **env}, cwd=ROOT,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.running.append(proc)
        return proc, log

    def kill_group(self, proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)  # no shutdown hook runs, ffmpeg dies with it
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.running:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    made = Processes(tmp_path)
    yield made
    made.stop_all()


def _seeded(settings: AppSettings, chunks: list[bytes], count: int, submit: bool) -> list[UUID]:
    services = bootstrap(settings, hasher=Argon2Hasher(time_cost=1, memory_cost=8192), run_workers=False)
    try:
        people = seed(services.app, candidates=count)
        return [recorded_attempt(who, services.media, chunks, submit=submit) for who in people]
    finally:
        services.close()


def seed_candidates(services: Any, count: int) -> list[Actor]:
    users = [load_user_by_name(services.app, f"cand{i}") for i in range(count)]
    return [Actor(u.id, u.role) for u in users]


def _finalized(settings: AppSettings, attempt_ids: list[UUID]) -> dict[UUID, list[str]]:
    services = bootstrap(settings, run_workers=False)
    try:
        return {a: event_names(services.app, a) for a in attempt_ids}
    finally:
        services.close()


def _mp4s(media: Path, attempt_id: UUID) -> list[str]:
    folder = media / "video-recordings" / str(attempt_id)
    return sorted(p.relative_to(media).as_posix() for p in folder.rglob("*") if p.is_file())


def _status(base: str, attempt_id: UUID) -> Any:
    try:
        token = httpx.post(f"{base}/api/auth/login", json={"username": "proctor", "password": PASSWORD})
        auth = {"Authorization": f"Bearer {token.json()['accessToken']}"}
        answer = httpx.get(f"{base}/api/Proctor/recording/{attempt_id}", headers=auth, timeout=5)
        return answer.json()["status"]
    except (httpx.HTTPError, KeyError, ValueError):
        return None


def test_kill_9_during_ffmpeg_then_restart_leaves_one_mp4_and_one_finalized(
    tmp_path: Path, chunks: list[bytes], slow_ffmpeg: Path, processes: Processes
) -> None:
    settings = AppSettings(data_dir=tmp_path / "data")
    (attempt_id,) = _seeded(settings, chunks, 1, submit=True)
    port = _free_port()
    env = {"SMART_EXAM_DATA_DIR": str(settings.data_dir), "SMART_EXAM_FFMPEG": str(slow_ffmpeg),
           "SMART_EXAM_FINALIZE_LEASE_SECONDS": "3", "SMART_EXAM_FINALIZE_INTERVAL_SECONDS": "0.3",
           "SMART_EXAM_PROJECTION_PROCESS": "false"}  # fmt: skip
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    first, _ = processes.start("first", serve, env)
    marks = slow_ffmpeg.parent
    wait_until(lambda: list(marks.glob("ran.*")), timeout=90, interval=0.1, what="ffmpeg started")
    processes.kill_group(first)
    names = _finalized(settings, [attempt_id])[attempt_id]
    assert names[-2:] == ["RecordingClosed", "FinalizationStarted"]  # claimed, never finished
    (marks / "slow").unlink()
    second, log = processes.start("second", serve, {**env, "SMART_EXAM_PROJECTION_PROCESS": "true"})
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _status(base, attempt_id), lambda s: s == "Ready", timeout=120, interval=0.3,
               what="Ready after the restart")  # fmt: skip
    names = _finalized(settings, [attempt_id])[attempt_id]
    assert names.count("FinalizationStarted") == 2 and names.count("RecordingFinalized") == 1
    assert names[-1] == "RecordingFinalized"
    assert _mp4s(settings.media_path, attempt_id) == [f"video-recordings/{attempt_id}/recording.mp4"]
    lines = [line for line in log.read_text().splitlines() if COMPLETED in line]
    assert len(lines) == 1 and str(attempt_id) in lines[0]
    assert second.poll() is None


@pytest.mark.postgres
def test_two_workers_on_one_postgres_finalize_each_recording_once(
    fresh_pg_url: str, tmp_path: Path, chunks: list[bytes], processes: Processes
) -> None:
    media = tmp_path / "media"
    settings = AppSettings(database_url=fresh_pg_url, data_dir=tmp_path / "cli", media_root=media)
    attempt_ids = _seeded(settings, chunks, 4, submit=False)
    logs = []
    for name in ("w1", "w2"):
        env = {"SMART_EXAM_DATABASE_URL": fresh_pg_url, "SMART_EXAM_DATA_DIR": str(tmp_path / name),
               "SMART_EXAM_MEDIA_ROOT": str(media),
               "SMART_EXAM_FINALIZE_INTERVAL_SECONDS": "0.2"}  # fmt: skip
        logs.append(processes.start(name, ["worker"], env)[1])
    for log in logs:
        wait_until(lambda log=log: "projection worker running" in log.read_text(), timeout=60, interval=0.2,
                   what="worker up")  # fmt: skip
    services = bootstrap(settings, run_workers=False)
    try:
        for who, attempt_id in zip(seed_candidates(services, len(attempt_ids)), attempt_ids, strict=True):
            attempts.submit(services.app, who, attempt_id)
    finally:
        services.close()
    done = wait_until(
        lambda: _finalized(settings, attempt_ids),
        lambda by_id: all("RecordingFinalized" in names for names in by_id.values()),
        timeout=180, interval=0.5, what="every recording finalized",
    )  # fmt: skip
    for attempt_id, names in done.items():
        assert names.count("FinalizationStarted") == 1 and names.count("RecordingFinalized") == 1
        assert names.count("RecordingClosed") == 1
        assert _mp4s(media, attempt_id) == [f"video-recordings/{attempt_id}/recording.mp4"]
    lines = [line for log in logs for line in log.read_text().splitlines() if COMPLETED in line]
    assert sorted(line.split("attempt=")[1].split()[0] for line in lines) == sorted(map(str, attempt_ids))
