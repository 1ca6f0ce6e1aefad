"""The recording's facts on the timeline: ready / failed / deleted items, one item per gap, and
how gap items sort among the others.

Ordering: timeline items are ordered by their event's position, as before. A gap is found
only when the recording is finalized, long after it happened, so gap items live in their own
table keyed by (the RecordingFinalized position, the gap's index) and carry the gap's
wall-clock start as `at`. Reading merges them in by time: each gap item goes right before the
first item that happened later than the gap began (on a tie the event comes first), gaps among
themselves in time order. Both keys are immutable, so the order is stable and a rebuild from
the log gives the same one. A gap item's `position` is its RecordingFinalized's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections.rows import Upsert

RECORDING_TABLES = [
    "CREATE TABLE IF NOT EXISTS timeline_recordings (recording_id TEXT PRIMARY KEY, attempt_id TEXT, "
    "exam_started_at TEXT)",
    "CREATE TABLE IF NOT EXISTS timeline_gaps (position BIGINT, gap INTEGER, attempt_id TEXT, "
    "at TEXT, kind TEXT, label TEXT, detail TEXT, category TEXT, PRIMARY KEY (position, gap))",
    "CREATE INDEX IF NOT EXISTS timeline_gaps_attempt ON timeline_gaps (attempt_id, at)",
]
CATEGORY = "recording"
MAX_REASON = 160
EN_DASH = "\u2013"


def moment(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def clock_time(seconds: float) -> str:
    """mm:ss (minutes keep counting past an hour: 75:02)."""
    whole = max(0, int(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def ready_label(duration_seconds: float) -> str:
    return f"Recording ready ({clock_time(round(duration_seconds))})"


def failed_label(reason: str) -> str:
    """ffmpeg's reason is many lines; the label keeps its last meaningful one, shortened."""
    lines = [line.strip() for line in reason.splitlines() if line.strip()]
    text = lines[-1] if lines else "unknown reason"
    return f"Recording failed: {text[:MAX_REASON]}"


def gap_label(gap: dict[str, Any], exam_started_at: datetime) -> str:
    start = (moment(gap["start"]) - exam_started_at).total_seconds()
    end = (moment(gap["end"]) - exam_started_at).total_seconds()
    return f"No recording {clock_time(start)}{EN_DASH}{clock_time(end)} ({gap['reason']})"


def gap_rows(
    position: int, attempt_id: str, exam_started_at: datetime, gaps: list[dict[str, Any]]
) -> list[Upsert]:
    """One item per gap, at its wall-clock start; times in the label count from the exam start."""
    rows = []
    for index, gap in enumerate(gaps):
        seconds = (moment(gap["end"]) - moment(gap["start"])).total_seconds()
        rows.append(
            Upsert(
                "timeline_gaps",
                {"position": position, "gap": index},
                {
                    "attempt_id": attempt_id,
                    "at": moment(gap["start"]),
                    "kind": "recording_gap",
                    "label": gap_label(gap, exam_started_at),
                    "detail": f"{seconds:.1f} s without video",
                    "category": CATEGORY,
                },
            )
        )
    return rows


def merge_by_time(items: list[dict[str, Any]], gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`items` in position order, `gaps` in time order: each gap before the first item that
    happened later than the gap began."""
    merged: list[dict[str, Any]] = []
    waiting = iter(gaps)
    gap = next(waiting, None)
    for item in items:
        while gap is not None and moment(gap["at"]) < moment(item["at"]):
            merged.append(gap)
            gap = next(waiting, None)
        merged.append(item)
    if gap is not None:
        merged.append(gap)
        merged.extend(waiting)
    return merged
