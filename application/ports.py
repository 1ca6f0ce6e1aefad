"""What the application needs from the outside world; adapters implement these."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID


class Clock(Protocol):
    def now(self) -> datetime: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class ActiveAttempts(Protocol):
    """A read-side query the expiry sweep uses to find candidates for expiry."""

    def overdue_attempt_ids(self, now: datetime) -> list[UUID]: ...


Payload = dict[str, Any]  # JSON-able: str keys; str, int, float, bool, None, lists and dicts of them


class MessageBus(Protocol):
    """Messages with payloads between the parts of one process, and (PostgreSQL) across
    processes and machines. Delivery is at-most-once and unordered across publishers: a message
    says "look again" or carries a small payload (WebRTC signaling, read-model progress).
    Callbacks run on the bus's own thread or the publisher's: they must be quick, never block."""

    def publish(self, channel: str, payload: Payload) -> None: ...

    def subscribe(self, channel: str, callback: Callable[[Payload], None]) -> Callable[[], None]:
        """Calls `callback(payload)` for every message on `channel`; returns the unsubscribe."""
        ...


# -- recordings --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SegmentInput:
    """One recorder session: its chunk files in seq order (what exists), and, when known, how
    long it should be (for progress only)."""

    segment: int
    chunks: tuple[Path, ...]
    expected_seconds: float | None = None


@dataclass(frozen=True)
class TranscodeResult:
    path: Path
    duration_seconds: float  # the video stream's
    size_bytes: int
    sha256: str
    codec_path: str  # "remux" (H.264 copied) | "transcode" (libx264)
    segment_durations: dict[int, float]  # each segment's length in the joined video, in order


class TranscodeError(Exception):
    """ffmpeg could not make a verified MP4; `stderr_tail` says why (kept for RecordingFailed)."""

    def __init__(self, step: str, stderr_tail: str) -> None:
        super().__init__(f"{step}: {stderr_tail}" if stderr_tail else step)
        self.step = step
        self.stderr_tail = stderr_tail


class Transcoder(Protocol):
    def finalize(
        self,
        segments: Sequence[SegmentInput],
        output: Path,
        work_dir: Path,
        progress: Callable[[float], None] | None = None,
    ) -> TranscodeResult:
        """Joins the segments into one verified MP4 at `output`, written atomically (never a
        half file there). Scratch files go to `work_dir`. Runs for minutes: never call it
        while holding a database transaction. Raises TranscodeError."""
        ...


class RecordingWorkList(Protocol):
    """The read-side queries the finalize process manager works from (a read model; it may lag
    the store, so every item is decided again on the aggregate)."""

    def due_for_finalization(self, now: datetime, grace_seconds: float) -> list[UUID]: ...

    def ended_but_open(self) -> list[tuple[UUID, str, datetime]]:
        """(attempt id, why, ended at) of attempts that ended while their Recording is still
        open: a close the follower missed (a race with the first chunk)."""
        ...


class RetentionWorkList(Protocol):
    """The read-side query the retention sweep starts from (a read model that may lag: each
    recording is decided again on its aggregate)."""

    def due_for_deletion(self, cutoff: datetime, limit: int) -> list[UUID]:
        """Ready or Failed recordings of attempts that ended at or before `cutoff`."""
        ...
