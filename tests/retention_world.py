"""Recordings in every state on the real services (bootstrap, its followers, real files), for
the retention tests: finalized with real ffmpeg, failed, still processing, and orphan folders."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from fakes import FakeClock
from recording_media import lavfi_recording, split_bytes
from recording_world import QUESTIONS, World

from adapters.ffmpeg import FfmpegTranscoder
from adapters.runtime.services import RECORDINGS, Services
from adapters.schedule import DailyTask
from application import attempts, exams, users
from application.access import Actor
from application.finalize import close_recording, finalize_recording
from application.recordings import recording_of
from media_storage.recordings import RecordingFiles

DAY = 86_400.0
LEASE = timedelta(minutes=5)


def without_schedule(services: Services) -> Services:
    """The daily sweep's thread would follow the fake clock too: the tests run the sweep."""
    services.background = [b for b in services.background if not isinstance(b, DailyTask)]
    return services


def world_on(services: Services, clock: FakeClock, candidates: int = 4) -> World:
    app = services.app

    def actor(name: str, role: str) -> Actor:
        user = users.register_user(app, name, "password-123", role, name.title())
        return Actor(user.id, role, user.display_name)

    admin, proctor = actor("admin", "admin"), actor("proctor", "proctor")
    people = [actor(f"cand{i}", "candidate") for i in range(candidates)]
    proctored = exams.create_exam(app, admin, "Proctored", 600, True, QUESTIONS, 1).id
    open_book = exams.create_exam(app, admin, "Open book", 600, False, QUESTIONS, 1).id
    return World(app, clock, RecordingFiles(services.media), admin, proctor, people, proctored, open_book)


def clip(folder: Path) -> list[bytes]:
    return split_bytes(lavfi_recording(folder / "clip.mkv", 3, "h264"), 3)


def recorded(w: World, candidate: int, chunks: list[bytes]) -> UUID:
    """Recorded, submitted and closed (what the finalize follower does on Submitted)."""
    attempt_id = w.start(candidate)
    for seq, data in enumerate(chunks):
        w.clock.advance(1)
        w.send(attempt_id, 0, seq, data, candidate=candidate, final=seq == len(chunks) - 1)
    ended = attempts.submit(w.app, w.candidates[candidate], attempt_id).ended_at
    assert ended is not None
    # The services' closer follower may have closed it already (it hears Submitted): either way
    # it is closed once, now.
    close_recording(w.app, attempt_id, "submitted", ended)
    assert recording_of(w.app, attempt_id).closed_at is not None
    return attempt_id


def finalized(w: World, candidate: int, chunks: list[bytes]) -> UUID:
    attempt_id = recorded(w, candidate, chunks)
    done = finalize_recording(w.app, FfmpegTranscoder(), w.files, attempt_id, "w1", w.clock.now(), LEASE)
    assert done.status == "Ready", done.failure_reason
    return attempt_id


def orphan_folder(w: World, age_seconds: float) -> UUID:
    attempt_id = uuid4()
    relative = f"{w.files.folder_path(attempt_id)}/chunks/000-000000.mkv"
    w.files.storage.save(relative, b"a chunk whose event never came")
    when = w.clock.now().timestamp() - age_seconds
    os.utime(w.files.absolute(relative), (when, when))
    return attempt_id


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def row_status(services: Services, attempt_id: UUID) -> Any:
    assert services.wait_until_current(RECORDINGS, timeout=10)
    row = services.recordings.recording(attempt_id)
    return row and row["status"]
