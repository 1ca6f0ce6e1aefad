"""Test doubles for the application's ports (application.ports)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class FakeClock:
    """Implements the Clock port. Time moves only when a test says so (thread-safe)."""

    def __init__(self, start: datetime = EPOCH) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("time never goes back")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            if when < self._now:
                raise ValueError("time never goes back")
            self._now = when


class PlainHasher:
    """Implements the PasswordHasher port without any cost, for unit tests (never in product)."""

    def hash(self, password: str) -> str:
        return "plain$" + password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "plain$" + password


class FakeTranscoder:
    """Implements the Transcoder port: writes a small file as the MP4 (atomically, as the port
    promises) and says each segment lasted one chunk per chunk file; or fails as told. `during`
    runs while it "transcodes" (a test's chance to act as another worker meanwhile)."""

    def __init__(self, chunk_seconds: float = 1.0) -> None:
        self.chunk_seconds = chunk_seconds
        self.fail_with: str | None = None
        self.during: Any = None
        self.calls: list[list[Any]] = []

    def finalize(self, segments: Any, output: Any, work_dir: Any, progress: Any = None) -> Any:
        import hashlib
        import os

        from application.ports import TranscodeError, TranscodeResult

        self.calls.append(list(segments))
        for segment in segments:
            for chunk in segment.chunks:
                chunk.stat()  # a missing chunk file fails like ffmpeg would (OSError)
        if self.during is not None:
            self.during()
        if self.fail_with is not None:
            raise TranscodeError("encode (ffmpeg exit 1)", self.fail_with)
        data = b"mp4:" + b"|".join(c.name.encode() for s in segments for c in s.chunks)
        temp = work_dir / "out.tmp"
        temp.write_bytes(data)
        os.replace(temp, output)
        durations = {s.segment: len(s.chunks) * self.chunk_seconds for s in segments}
        if progress is not None:
            progress(1.0)
        return TranscodeResult(output, sum(durations.values()), len(data), hashlib.sha256(data).hexdigest(),
                               "remux", durations)  # fmt: skip
