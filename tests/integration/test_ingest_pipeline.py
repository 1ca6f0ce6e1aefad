"""The evidence-ingest pipeline on the real stores (SQLite and PostgreSQL) and a real folder:
a body is streamed to its final file in pieces, refused as soon as it passes the cap, and any
refusal, a client gone mid-body or a caller cancelled mid-body leaves no file and no event;
the event is recorded only after the file and its folder are fsynced."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from starlette.requests import ClientDisconnect

from adapters.ingest.pipeline import FLUSH_BYTES, IngestPipeline
from adapters.ingest.snapshots import SnapshotUpload
from adapters.ingest.validators import JpegSnapshot
from application.access import Actor
from application.attempts import start_attempt
from application.evidence import SnapshotFile, record_snapshots, snapshot_session
from application.exams import create_exam
from application.users import register_user
from domain.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from domain.proctoring import ProctorSession
from tests.api.conftest import jpeg

PIECE = FLUSH_BYTES  # each piece is written as it arrives
CAP = 4 * PIECE
PADDED = jpeg() + b"\x00" * (3 * PIECE)  # a valid JPEG (zero padding is allowed) in 4 pieces


T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on a fresh thread: the browser tests leave a loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=30)


@dataclass
class World:
    services: Any
    session: ProctorSession
    pipeline: IngestPipeline[SnapshotFile]

    def upload(self, max_pixels: int = 1920 * 1080) -> SnapshotUpload:
        return SnapshotUpload(self.session, self.services.app.clock.now, JpegSnapshot(max_pixels))

    def events(self) -> int:
        return int(self.services.app.recorder.max_notification_id() or 0)

    def files(self) -> list[Path]:
        return [p for p in self.services.media.root.rglob("*") if p.is_file()]


@pytest.fixture
def world(services_factory: Callable[..., Any]) -> Iterator[World]:
    services = services_factory(run_workers=False)
    app = services.app
    admin = register_user(app, "admin", "password-123", "admin")
    cand = register_user(app, "cand", "password-123", "candidate")
    questions = [{"id": "q1", "text": "2 + 2 = ?", "choices": ["3", "4"], "answer": 1}]
    exam = create_exam(app, Actor(admin.id, "admin"), "Exam", 600, True, questions, 1)
    candidate = Actor(cand.id, "candidate")
    attempt = start_attempt(app, candidate, exam.id)
    session = snapshot_session(app, candidate, attempt.id)
    pipeline = IngestPipeline(partial(record_snapshots, app), services.media, CAP, label="snapshot")
    yield World(services, session, pipeline)
    pipeline.close()


async def pieces(data: bytes, size: int = PIECE) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_a_body_in_pieces_is_written_whole_then_recorded(world: World) -> None:
    before = world.events()
    file = run(world.pipeline.ingest(world.upload(), pieces(PADDED, 64 * 1024)))
    assert world.files() == [world.services.media.root / file.path]
    assert world.files()[0].read_bytes() == PADDED and file.size_bytes == len(PADDED)
    assert world.events() == before + 1


def test_passing_the_cap_mid_stream_is_refused_at_once_and_leaves_nothing(world: World) -> None:
    before, sent, seen_on_disk = world.events(), [0], []

    async def too_long() -> AsyncIterator[bytes]:
        for _ in range(10):
            seen_on_disk.append(len(world.files()))
            sent[0] += 1
            yield b"\x00" * PIECE if sent[0] > 1 else jpeg() + b"\x00" * (PIECE - len(jpeg()))

    with pytest.raises(PayloadTooLarge):
        run(world.pipeline.ingest(world.upload(), too_long()))
    assert sent[0] == CAP // PIECE + 1  # refused with the first piece over the cap
    assert max(seen_on_disk) == 1  # it was being streamed to its file
    assert world.files() == [] and world.events() == before


def test_a_client_gone_mid_body_leaves_no_file_and_no_event(world: World) -> None:
    before = world.events()

    async def gone() -> AsyncIterator[bytes]:
        async for piece in pieces(PADDED[: 2 * PIECE]):
            yield piece
        raise ClientDisconnect()

    with pytest.raises(ClientDisconnect):
        run(world.pipeline.ingest(world.upload(), gone()))
    assert world.files() == [] and world.events() == before


def test_a_caller_cancelled_mid_body_leaves_no_file_and_no_event(world: World) -> None:
    before = world.events()

    async def main() -> None:
        stalled = asyncio.Event()

        async def slow() -> AsyncIterator[bytes]:
            async for piece in pieces(PADDED[: 2 * PIECE]):
                yield piece
            stalled.set()
            await asyncio.Event().wait()  # the rest never comes

        caller = asyncio.create_task(world.pipeline.ingest(world.upload(), slow()))
        await stalled.wait()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller

    run(main())
    world.pipeline.close()  # waits for the writer threads, and so for the clean-up
    assert world.files() == [] and world.events() == before


@pytest.mark.parametrize(
    ("body", "max_pixels", "error"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * PIECE), 1920 * 1080, UnsupportedMediaType),  # head
        (jpeg()[:600], 1920 * 1080, InvalidInput),  # final: truncated
        (PADDED, 320 * 240, PayloadTooLarge),  # final, after 4 pieces on disk: too many pixels
    ],
    ids=["not-a-jpeg", "truncated", "too-many-pixels"],
)
def test_a_validator_refusal_leaves_no_file_and_no_event(
    world: World, body: bytes, max_pixels: int, error: type[Exception]
) -> None:
    before = world.events()
    with pytest.raises(error):
        run(world.pipeline.ingest(world.upload(max_pixels), pieces(body)))
    assert world.files() == [] and world.events() == before


def test_the_event_is_recorded_only_after_the_file_and_its_folder_are_fsynced(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[tuple[str, str]] = []
    fsync = os.fsync

    def watched_fsync(fd: int) -> None:
        fsync(fd)
        steps.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))

    def record(files: Sequence[SnapshotFile]) -> list[int | Exception]:
        steps.append(("record", str(world.services.media.root / files[0].path)))
        return list(record_snapshots(world.services.app, files))

    monkeypatch.setattr("media_storage.storage.os.fsync", watched_fsync)
    pipeline = IngestPipeline(record, world.services.media, CAP)
    try:
        file = run(pipeline.ingest(world.upload(), pieces(PADDED)))
    finally:
        pipeline.close()
    path = world.services.media.root / file.path
    # (before them: the new month's folders, each made durable in its parent)
    assert steps[-3:] == [("fsync", str(path)), ("fsync", str(path.parent)), ("record", str(path))]
    assert [step for step, _ in steps].count("record") == 1
