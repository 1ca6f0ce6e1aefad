"""Recordings read model: one row per attempt (status, what is held, the claim, the result),
the finalize process manager's work list and the retention sweep's.

Rows start with the attempt (candidate, and later when and how it ended, so retention can count
days from the end); `status` is NULL until the attempt's Recording exists. Times used in work
queries are also kept as epoch seconds (`*_ts`): ISO text compares by collation on PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.attempts import Attempt
from domain.recordings import DELETED, FAILED, PROCESSING, READY, RECORDING, Recording
from projections.rows import RowView, Update, Upsert, topics_of

TABLES = [
    "CREATE TABLE IF NOT EXISTS recordings (attempt_id TEXT PRIMARY KEY, recording_id TEXT, "
    "candidate_id TEXT, exam_id TEXT, ended_at TEXT, ended_ts DOUBLE PRECISION, end_reason TEXT, "
    "status TEXT, started_at TEXT, chunks INTEGER DEFAULT 0, bytes BIGINT DEFAULT 0, "
    "segments INTEGER DEFAULT 0, all_segments_final INTEGER DEFAULT 0, closed_at TEXT, "
    "closed_ts DOUBLE PRECISION, close_reason TEXT, lease_worker TEXT, lease_until TEXT, "
    "lease_until_ts DOUBLE PRECISION, attempts INTEGER DEFAULT 0, retry_after TEXT, "
    "retry_after_ts DOUBLE PRECISION, failure_reason TEXT, failed_at TEXT, path TEXT, "
    "duration_seconds DOUBLE PRECISION, size_bytes BIGINT, sha256 TEXT, codec_path TEXT, "
    "segment_map TEXT, gaps TEXT, finalized_at TEXT, deleted_at TEXT, deleted_by TEXT, "
    "deleted_why TEXT, position BIGINT)",
    "CREATE INDEX IF NOT EXISTS recordings_recording ON recordings (recording_id)",
    "CREATE INDEX IF NOT EXISTS recordings_status ON recordings (status)",
    "CREATE TABLE IF NOT EXISTS recording_segments (recording_id TEXT, segment INTEGER, "
    "chunks INTEGER, max_seq INTEGER, final_seq INTEGER, PRIMARY KEY (recording_id, segment))",
]
END_REASONS = {Attempt.Submitted: "submitted", Attempt.Expired: "expired", Attempt.ForceEnded: "force_ended"}
JSON_COLUMNS = ("segment_map", "gaps")


def as_json(value: Any) -> str:
    return json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))


def complete(segment: dict[str, Any]) -> bool:
    final = segment["final_seq"]
    return final is not None and segment["chunks"] == final + 1


class RecordingsProjection(Projection[RowView]):
    name = "recordings"
    topics = topics_of(
        Attempt.Started,
        Attempt.Submitted,
        Attempt.Expired,
        Attempt.ForceEnded,
        Recording.RecordingStarted,
        Recording.ChunkReceived,
        Recording.RecordingClosed,
        Recording.FinalizationStarted,
        Recording.RecordingFinalized,
        Recording.RecordingFailed,
        Recording.RecordingDeleted,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    def _attempt(self, t: Tracking, attempt_id: UUID, **values: Any) -> None:
        self.view.write(
            t, [Upsert("recordings", {"attempt_id": attempt_id}, {**values, "position": t.notification_id})]
        )

    def _recording(self, t: Tracking, recording_id: UUID, **values: Any) -> None:
        where = {"recording_id": recording_id}
        self.view.write(t, [Update("recordings", where, {**values, "position": t.notification_id})])

    @process_event.register
    def _(self, e: Attempt.Started, t: Tracking) -> None:
        self._attempt(t, e.originator_id, candidate_id=e.candidate_id, exam_id=e.exam_id)

    @process_event.register(Attempt.Submitted)
    @process_event.register(Attempt.Expired)
    @process_event.register(Attempt.ForceEnded)
    def _(self, e: Any, t: Tracking) -> None:
        reason = END_REASONS[type(e)]
        self._attempt(
            t, e.originator_id, ended_at=e.ended_at, ended_ts=e.ended_at.timestamp(), end_reason=reason
        )

    @process_event.register
    def _(self, e: Recording.RecordingStarted, t: Tracking) -> None:
        self._attempt(
            t, e.attempt_id, recording_id=e.originator_id, status=RECORDING, started_at=e.started_at
        )

    @process_event.register
    def _(self, e: Recording.ChunkReceived, t: Tracking) -> None:
        """Per segment: distinct chunks held (a duplicate makes no event), the highest seq and
        the final one; the row's flag says whether every segment ended complete."""
        segments = {
            row["segment"]: row
            for row in self.view.query(
                "SELECT segment, chunks, max_seq, final_seq FROM recording_segments WHERE recording_id = ?",
                [e.originator_id],
            )
        }
        new_segment = e.segment not in segments
        held = segments.get(e.segment) or {
            "segment": e.segment,
            "chunks": 0,
            "max_seq": -1,
            "final_seq": None,
        }
        held = {
            **held,
            "chunks": held["chunks"] + 1,
            "max_seq": max(held["max_seq"], e.seq),
            "final_seq": e.seq if e.final else held["final_seq"],
        }
        segments[e.segment] = held
        key = {"recording_id": e.originator_id, "segment": e.segment}
        row = Update(
            "recordings",
            {"recording_id": e.originator_id},
            {
                "all_segments_final": all(complete(s) for s in segments.values()),
                "position": t.notification_id,
            },
            {"chunks": 1, "bytes": e.size_bytes, "segments": int(new_segment)},
        )
        values = {k: held[k] for k in ("chunks", "max_seq", "final_seq")}
        self.view.write(t, [Upsert("recording_segments", key, values), row])

    @process_event.register
    def _(self, e: Recording.RecordingClosed, t: Tracking) -> None:
        self._recording(t, e.originator_id, status=PROCESSING, closed_at=e.at, closed_ts=e.at.timestamp(),
                        close_reason=e.why)  # fmt: skip

    @process_event.register
    def _(self, e: Recording.FinalizationStarted, t: Tracking) -> None:
        values = {"status": PROCESSING, "lease_worker": e.worker, "lease_until": e.lease_until,
                  "lease_until_ts": e.lease_until.timestamp(), "position": t.notification_id}  # fmt: skip
        change = Update("recordings", {"recording_id": e.originator_id}, values, {"attempts": 1})
        self.view.write(t, [change])

    @process_event.register
    def _(self, e: Recording.RecordingFinalized, t: Tracking) -> None:
        self._recording(
            t, e.originator_id, status=READY, path=e.path, duration_seconds=e.duration_seconds,
            size_bytes=e.size_bytes, sha256=e.sha256, codec_path=e.codec_path,
            segment_map=as_json(e.segments), gaps=as_json(e.gaps), finalized_at=e.at,
            lease_worker=None, lease_until=None, lease_until_ts=None, retry_after=None, retry_after_ts=None,
        )  # fmt: skip

    @process_event.register
    def _(self, e: Recording.RecordingFailed, t: Tracking) -> None:
        self._recording(
            t, e.originator_id, status=FAILED, failure_reason=e.reason, failed_at=e.at,
            retry_after=e.retry_after, retry_after_ts=e.retry_after.timestamp(),
            lease_worker=None, lease_until=None, lease_until_ts=None,
        )  # fmt: skip

    @process_event.register
    def _(self, e: Recording.RecordingDeleted, t: Tracking) -> None:
        self._recording(
            t, e.originator_id, status=DELETED, deleted_at=e.at, deleted_by=e.by, deleted_why=e.why
        )


class RecordingQueries:
    def __init__(self, view: RowView) -> None:
        self.view = view

    def recording(self, attempt_id: UUID) -> dict[str, Any] | None:
        """The attempt's recording row (None: it has no Recording), segment map and gaps as lists."""
        rows = self.view.query(
            "SELECT * FROM recordings WHERE attempt_id = ? AND status IS NOT NULL", [str(attempt_id)]
        )
        if not rows:
            return None
        row = rows[0]
        for column in JSON_COLUMNS:
            row[column] = json.loads(row[column]) if row[column] else []
        row["all_segments_final"] = bool(row["all_segments_final"])
        return row

    def due_for_finalization(self, now: datetime, grace_seconds: float, limit: int = 100) -> list[UUID]:
        """What Recording.is_due says, in SQL: closed and never claimed, and either every
        segment ended complete or the grace period since closing is over; a claim whose lease
        ran out; a failure whose retry time came. Oldest closed first."""
        ts = now.timestamp()
        rows = self.view.query(
            "SELECT attempt_id FROM recordings WHERE "
            "(status = ? AND lease_worker IS NULL AND (all_segments_final = 1 OR closed_ts <= ?)) "
            "OR (status = ? AND lease_worker IS NOT NULL AND lease_until_ts <= ?) "
            "OR (status = ? AND (retry_after_ts IS NULL OR retry_after_ts <= ?)) "
            "ORDER BY closed_ts, attempt_id LIMIT ?",
            [PROCESSING, ts - grace_seconds, PROCESSING, ts, FAILED, ts, limit],
        )
        return [UUID(r["attempt_id"]) for r in rows]

    def ended_but_open(self, limit: int = 100) -> list[tuple[UUID, str, datetime]]:
        rows = self.view.query(
            "SELECT attempt_id, end_reason, ended_at FROM recordings WHERE status = ? "
            "AND ended_at IS NOT NULL ORDER BY ended_ts, attempt_id LIMIT ?",
            [RECORDING, limit],
        )
        return [(UUID(r["attempt_id"]), r["end_reason"], datetime.fromisoformat(r["ended_at"])) for r in rows]

    def due_for_deletion(self, cutoff: datetime, limit: int = 500) -> list[UUID]:
        """Finished recordings (Ready or Failed: never one in progress or being finalized)
        of attempts that ended at or before `cutoff` (now minus the retention days)."""
        rows = self.view.query(
            "SELECT attempt_id FROM recordings WHERE status IN (?, ?) AND COALESCE(ended_ts, closed_ts) <= ? "
            "ORDER BY COALESCE(ended_ts, closed_ts), attempt_id LIMIT ?",
            [READY, FAILED, cutoff.timestamp(), limit],
        )
        return [UUID(r["attempt_id"]) for r in rows]

    def all_attempt_ids(self) -> list[UUID]:
        """Every attempt that has a Recording, whatever its status: the orphan sweep removes
        attempt folders that are not among them."""
        rows = self.view.query(
            "SELECT attempt_id FROM recordings WHERE status IS NOT NULL ORDER BY attempt_id"
        )
        return [UUID(r["attempt_id"]) for r in rows]
