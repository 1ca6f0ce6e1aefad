"""Timeline read model: per attempt, ordered, human-readable; plus the snapshot index."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.attempts import Attempt
from domain.proctoring import CONNECTIVITY_EVENT_TYPES, ProctorSession
from domain.recordings import Recording
from projections.rows import RowView, Upsert, topics_of
from projections.timeline_recording import (
    CATEGORY,
    RECORDING_TABLES,
    failed_label,
    gap_rows,
    merge_by_time,
    moment,
    ready_label,
)

TABLES = [
    "CREATE TABLE IF NOT EXISTS timeline_sessions (session_id TEXT PRIMARY KEY, attempt_id TEXT, "
    "candidate_id TEXT)",
    "CREATE TABLE IF NOT EXISTS timeline_items (position BIGINT PRIMARY KEY, attempt_id TEXT, "
    "at TEXT, kind TEXT, label TEXT, detail TEXT, category TEXT)",
    "CREATE INDEX IF NOT EXISTS timeline_items_attempt ON timeline_items (attempt_id, position)",
    "CREATE TABLE IF NOT EXISTS timeline_snapshots (snapshot_id TEXT PRIMARY KEY, attempt_id TEXT, "
    "candidate_id TEXT, path TEXT, size_bytes INTEGER, taken_at TEXT, position BIGINT)",
    "CREATE INDEX IF NOT EXISTS timeline_snapshots_attempt ON timeline_snapshots (attempt_id, taken_at)",
    *RECORDING_TABLES,
]

LABELS = {
    "tab_hidden": "Left the exam tab",
    "tab_visible": "Returned to the exam tab",
    "fullscreen_exit": "Left full screen",
    "camera_denied": "Camera access denied",
    "camera_restored": "Camera restored",
    "snapshot_upload_failed": "Snapshot upload failed (network)",
    "chunk_upload_failed": "Video chunk upload failed (network)",
    "live_connected": "Live video connected",
    "live_reconnecting": "Live video reconnecting",
    "live_lost": "Live video lost",
    "network_offline": "Candidate went offline",
    "network_online": "Candidate back online",
}


class TimelineProjection(Projection[RowView]):
    name = "timeline"
    topics = topics_of(
        Attempt.Started,
        Attempt.Submitted,
        Attempt.Expired,
        Attempt.ForceEnded,
        ProctorSession.SessionStarted,
        ProctorSession.SnapshotTaken,
        ProctorSession.ProctorEventRecorded,
        ProctorSession.Flagged,
        ProctorSession.Warned,
        ProctorSession.SessionCompleted,
        ProctorSession.SessionCancelled,
        Recording.RecordingStarted,
        Recording.RecordingFinalized,
        Recording.RecordingFailed,
        Recording.RecordingDeleted,
    )

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    def _item(
        self,
        t: Tracking,
        attempt_id: UUID | str,
        at: Any,
        kind: str,
        label: str,
        detail: str = "",
        category: str = "lifecycle",
    ) -> Upsert:
        return Upsert(
            "timeline_items",
            {"position": t.notification_id},
            {
                "attempt_id": attempt_id,
                "at": at,
                "kind": kind,
                "label": label,
                "detail": detail,
                "category": category,
            },
        )

    def _attempt_of(self, session_id: UUID) -> dict[str, Any]:
        rows = self.view.query(
            "SELECT attempt_id, candidate_id FROM timeline_sessions WHERE session_id = ?",
            [session_id],
        )
        return rows[0] if rows else {"attempt_id": "", "candidate_id": ""}

    @process_event.register
    def _(self, e: Attempt.Started, t: Tracking) -> None:
        self.view.write(t, [self._item(t, e.originator_id, e.started_at, "started", "Exam started")])

    @process_event.register
    def _(self, e: Attempt.Submitted, t: Tracking) -> None:
        detail = f"score {e.score}/{e.max_score}"
        self.view.write(
            t, [self._item(t, e.originator_id, e.ended_at, "submitted", "Exam submitted", detail)]
        )

    @process_event.register
    def _(self, e: Attempt.Expired, t: Tracking) -> None:
        detail = f"score {e.score}/{e.max_score}"
        self.view.write(t, [self._item(t, e.originator_id, e.ended_at, "expired", "Time ran out", detail)])

    @process_event.register
    def _(self, e: Attempt.ForceEnded, t: Tracking) -> None:
        self.view.write(
            t,
            [
                self._item(
                    t, e.originator_id, e.ended_at, "force_ended", "Exam ended by staff", e.reason, "action"
                )
            ],
        )

    @process_event.register
    def _(self, e: ProctorSession.SessionStarted, t: Tracking) -> None:
        self.view.write(
            t,
            [
                Upsert(
                    "timeline_sessions",
                    {"session_id": e.originator_id},
                    {"attempt_id": e.attempt_id, "candidate_id": e.candidate_id},
                )
            ],
        )

    @process_event.register
    def _(self, e: ProctorSession.SnapshotTaken, t: Tracking) -> None:
        owner = self._attempt_of(e.originator_id)
        self.view.write(
            t,
            [
                Upsert(
                    "timeline_snapshots",
                    {"snapshot_id": e.snapshot_id},
                    {
                        "attempt_id": owner["attempt_id"],
                        "candidate_id": owner["candidate_id"],
                        "path": e.path,
                        "size_bytes": e.size_bytes,
                        "taken_at": e.taken_at,
                        "position": t.notification_id,
                    },
                )
            ],
        )

    @process_event.register
    def _(self, e: ProctorSession.ProctorEventRecorded, t: Tracking) -> None:
        category = "connectivity" if e.type in CONNECTIVITY_EVENT_TYPES else "conduct"
        label = LABELS.get(e.type, e.type.replace("_", " ").capitalize())
        attempt = self._attempt_of(e.originator_id)["attempt_id"]
        self.view.write(t, [self._item(t, attempt, e.at, e.type, label, e.detail, category)])

    @process_event.register
    def _(self, e: ProctorSession.Flagged, t: Tracking) -> None:
        attempt = self._attempt_of(e.originator_id)["attempt_id"]
        self.view.write(t, [self._item(t, attempt, e.at, "flagged", "Flagged by proctor", e.note, "action")])

    @process_event.register
    def _(self, e: ProctorSession.Warned, t: Tracking) -> None:
        attempt = self._attempt_of(e.originator_id)["attempt_id"]
        self.view.write(t, [self._item(t, attempt, e.at, "warned", "Warning sent", e.message, "action")])

    @process_event.register
    def _(self, e: ProctorSession.SessionCompleted, t: Tracking) -> None:
        attempt = self._attempt_of(e.originator_id)["attempt_id"]
        self.view.write(
            t,
            [self._item(t, attempt, e.ended_at, "session_completed", "Proctoring completed", e.reason)],
        )

    @process_event.register
    def _(self, e: ProctorSession.SessionCancelled, t: Tracking) -> None:
        attempt = self._attempt_of(e.originator_id)["attempt_id"]
        self.view.write(
            t,
            [
                self._item(
                    t,
                    attempt,
                    e.ended_at,
                    "session_cancelled",
                    "Proctoring cancelled",
                    e.reason,
                    "action",
                )
            ],
        )


    # -- the recording ---------------------------------------------------------------------------
    def _recording_of(self, recording_id: UUID) -> dict[str, Any]:
        rows = self.view.query(
            "SELECT attempt_id, exam_started_at FROM timeline_recordings WHERE recording_id = ?",
            [recording_id],
        )
        return rows[0] if rows else {"attempt_id": "", "exam_started_at": None}

    @process_event.register
    def _(self, e: Recording.RecordingStarted, t: Tracking) -> None:
        started = self.view.query(
            "SELECT at FROM timeline_items WHERE attempt_id = ? AND kind = 'started'", [e.attempt_id]
        )
        exam_started_at = started[0]["at"] if started else e.started_at
        values = {"attempt_id": e.attempt_id, "exam_started_at": exam_started_at}
        self.view.write(t, [Upsert("timeline_recordings", {"recording_id": e.originator_id}, values)])

    @process_event.register
    def _(self, e: Recording.RecordingFinalized, t: Tracking) -> None:
        owner = self._recording_of(e.originator_id)
        exam_started_at = moment(owner["exam_started_at"] or e.at)
        detail = f"{len(e.gaps)} gap(s) without video" if e.gaps else "no gaps"
        ready = self._item(t, owner["attempt_id"], e.at, "recording_ready", ready_label(e.duration_seconds),
                           detail, CATEGORY)  # fmt: skip
        gaps = gap_rows(t.notification_id, owner["attempt_id"], exam_started_at, e.gaps)
        self.view.write(t, [ready, *gaps])

    @process_event.register
    def _(self, e: Recording.RecordingFailed, t: Tracking) -> None:
        attempt = self._recording_of(e.originator_id)["attempt_id"]
        detail = f"try {e.attempt}; retried after {e.retry_after.isoformat()}"
        item = self._item(t, attempt, e.at, "recording_failed", failed_label(e.reason), detail, CATEGORY)
        self.view.write(t, [item])

    @process_event.register
    def _(self, e: Recording.RecordingDeleted, t: Tracking) -> None:
        attempt = self._recording_of(e.originator_id)["attempt_id"]
        item = self._item(t, attempt, e.at, "recording_deleted", "Recording deleted", e.why, CATEGORY)
        self.view.write(t, [item])


class TimelineQueries:
    def __init__(self, view: RowView) -> None:
        self.view = view

    def items(self, attempt_id: UUID) -> list[dict[str, Any]]:
        """Events in position order, with the recording's gap items merged in by wall-clock time
        (see projections/timeline_recording.py)."""
        items, gaps = self.view.query_many(
            [
                ("SELECT * FROM timeline_items WHERE attempt_id = ? ORDER BY position", [str(attempt_id)]),
                (
                    "SELECT * FROM timeline_gaps WHERE attempt_id = ? ORDER BY at, position, gap",
                    [str(attempt_id)],
                ),
            ]
        )
        return merge_by_time(items, sorted(gaps, key=lambda g: (moment(g["at"]), g["position"], g["gap"])))

    def snapshots(self, attempt_id: UUID, limit: int = 500) -> list[dict[str, Any]]:
        return self.view.query(
            "SELECT * FROM timeline_snapshots WHERE attempt_id = ? ORDER BY taken_at DESC, position DESC "
            "LIMIT ?",
            [str(attempt_id), limit],
        )

    def snapshot(self, snapshot_id: UUID) -> dict[str, Any] | None:
        rows = self.view.query("SELECT * FROM timeline_snapshots WHERE snapshot_id = ?", [str(snapshot_id)])
        return rows[0] if rows else None

    def recorded_paths(self, paths: list[str]) -> set[str]:
        """Which of these media paths a SnapshotTaken event refers to (the orphan sweep)."""
        found: set[str] = set()
        for start in range(0, len(paths), 500):
            part = paths[start : start + 500]
            marks = ", ".join("?" * len(part))
            rows = self.view.query(f"SELECT path FROM timeline_snapshots WHERE path IN ({marks})", part)
            found.update(str(r["path"]) for r in rows)
        return found
