"""The Attempt Video Page's bodies: a recording's status, result, gaps, segment map and retention."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from interfaces.schemas import Camel

RecordingStatus = Literal["None", "Recording", "Processing", "Ready", "Failed", "Deleted"]


def video_url(attempt_id: UUID | str) -> str:
    return f"/api/Proctor/recording/{attempt_id}/video"


class GapOut(Camel):
    start: datetime  # wall clock
    end: datetime
    seconds: float
    reason: str  # "connection lost" | "page reloaded"
    segment: int
    seqs: list[int]  # the missing chunks ("connection lost"); [] for "page reloaded"


class SegmentOut(Camel):
    segment: int
    wall_clock_start: datetime  # this wall-clock moment ...
    video_offset_seconds: float  # ... is this far into the MP4
    duration_seconds: float


class RecordingOut(Camel):
    attempt_id: UUID
    status: RecordingStatus
    position: int  # the recordings read model's row position (0: no row yet)
    chunk_count: int
    received_bytes: int
    started_at: datetime | None
    ended_at: datetime | None  # when the attempt ended
    finalized_at: datetime | None
    duration_seconds: float | None
    size_bytes: int | None
    video_url: str | None  # only when Ready
    codec_path: str | None  # "remux" | "transcode"
    failure_reason: str | None
    tries: int  # finalization attempts so far
    gaps: list[GapOut]
    segments: list[SegmentOut]
    retention_days: int
    delete_after: datetime | None  # ended_at + retention_days


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _gap(gap: dict[str, Any]) -> GapOut:
    start, end = _moment(gap["start"]), _moment(gap["end"])
    assert start is not None and end is not None
    return GapOut(start=start, end=end, seconds=round((end - start).total_seconds(), 3),
                  reason=gap["reason"], segment=gap["segment"], seqs=list(gap.get("seqs", [])))  # fmt: skip


def recording_out(
    attempt_id: UUID, row: dict[str, Any] | None, ended_at: datetime | None, retention_days: int
) -> RecordingOut:
    """`row`: the recordings read model's (None: the attempt has no Recording)."""
    row = row or {}
    ended = _moment(row.get("ended_at")) or ended_at
    status = row.get("status") or "None"
    return RecordingOut(
        attempt_id=attempt_id,
        status=status,
        position=row.get("position") or 0,
        chunk_count=row.get("chunks") or 0,
        received_bytes=row.get("bytes") or 0,
        started_at=_moment(row.get("started_at")),
        ended_at=ended,
        finalized_at=_moment(row.get("finalized_at")),
        duration_seconds=row.get("duration_seconds"),
        size_bytes=row.get("size_bytes"),
        video_url=video_url(attempt_id) if status == "Ready" else None,
        codec_path=row.get("codec_path"),
        failure_reason=row.get("failure_reason"),
        tries=row.get("attempts") or 0,
        gaps=[_gap(g) for g in row.get("gaps") or []],
        segments=[SegmentOut.model_validate(s) for s in row.get("segment_map") or []],
        retention_days=retention_days,
        delete_after=ended + timedelta(days=retention_days) if ended is not None else None,
    )


class RecordingStateEvent(Camel):
    """One SSE message of `/api/Proctor/recording/{id}/stream` (event `recording`)."""

    status: RecordingStatus
    video_url: str | None
    failure_reason: str | None
    duration_seconds: float | None


def state_event(out: RecordingOut) -> RecordingStateEvent:
    return RecordingStateEvent(status=out.status, video_url=out.video_url, failure_reason=out.failure_reason,
                               duration_seconds=out.duration_seconds)  # fmt: skip
