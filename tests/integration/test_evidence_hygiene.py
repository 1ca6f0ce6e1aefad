"""Class 11 of issue 12: a JPEG-shaped body that does not decode is refused and leaves nothing;
snapshot files no event refers to (left by a crash) are swept once old, recorded ones and
young ones (an upload in flight) are kept. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from PIL import Image

from adapters.ingest.orphans import sweep_orphan_snapshots
from adapters.ingest.validators import AllOf, JpegDecodes, JpegSnapshot
from adapters.runtime.services import TIMELINE, Services
from application import evidence
from application.access import Actor
from application.attempts import start_attempt
from application.exams import create_exam
from application.users import register_user
from domain.errors import InvalidInput

QUESTIONS: list[Any] = [{"id": "q1", "text": "2+2?", "choices": ["3", "4"], "answer": 1}]


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def _segment(data: bytes, marker: int) -> bytes:
    i = 2
    while i < len(data):
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if data[i + 1] == marker:
            return data[i : i + 2 + length]
        i += 2 + length
    raise AssertionError("no such segment")


def _validate(data: bytes) -> None:
    validator = AllOf(JpegSnapshot(1920 * 1080), JpegDecodes())
    validator.check_head(data[: validator.head_bytes])
    validator.feed(data)
    validator.finish()


def test_a_jpeg_shaped_body_that_does_not_decode_is_refused() -> None:
    good = _jpeg()
    _validate(good)
    frame_only = b"\xff\xd8" + _segment(good, 0xC0) + b"\xff\xd9"  # passes every structural check
    JpegSnapshot(1920 * 1080).feed(frame_only)
    with pytest.raises(InvalidInput, match="does not decode"):
        _validate(frame_only)
    no_tables = b"\xff\xd8" + _segment(good, 0xC0) + good[good.index(b"\xff\xda") :]
    with pytest.raises(InvalidInput, match="does not decode"):
        _validate(no_tables)


def test_orphan_snapshot_files_are_swept(services_factory: Callable[..., Services]) -> None:
    services = services_factory()
    sweeps = [b for b in services.background if getattr(b, "name", "") == "snapshot-orphan-sweep"]
    assert len(sweeps) == 1 and sweeps[0].first_after <= 60  # runs soon after startup, then periodically
    app, media = services.app, services.media
    admin = Actor(register_user(app, "admin", "password-123", "admin").id, "admin")
    alice_user = register_user(app, "alice", "password-123", "candidate")
    alice = Actor(alice_user.id, "candidate")
    exam = create_exam(app, admin, "E", 600, True, QUESTIONS)
    attempt = start_attempt(app, alice, exam.id)
    session = evidence.candidate_session(app, alice, attempt.id)
    now = app.clock.now()
    recorded = media.snapshot_path(attempt.id, now)
    media.save(recorded, _jpeg())
    (position,) = evidence.record_snapshots(
        app, [evidence.SnapshotFile(session, uuid4(), recorded, len(_jpeg()), now)]
    )
    assert isinstance(position, int)
    orphan = f"proctor-snapshots/2026/01/{uuid4()}_20260101T000000000Z.jpg"
    young = f"proctor-snapshots/2026/01/{uuid4()}_20260101T000001000Z.jpg"
    for relative in (orphan, young):
        media.save(relative, _jpeg())
    hour_ago = time.time() - 3600
    for relative in (recorded, orphan):
        os.utime(media.root / relative, (hour_ago, hour_ago))
    removed = sweep_orphan_snapshots(
        media, services.timeline, lambda: services.wait_until_current(TIMELINE), 30 * 60
    )
    assert removed == 1
    assert not (media.root / orphan).exists()
    assert (media.root / recorded).exists() and (media.root / young).exists()
    # a stalled timeline: nothing is removed, whatever its age
    os.utime(media.root / young, (hour_ago, hour_ago))
    assert sweep_orphan_snapshots(media, services.timeline, lambda: False, 30 * 60) == 0
    assert (media.root / young).exists()
