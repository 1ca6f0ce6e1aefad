"""Timeline read model: per attempt, ordered, human-readable; plus the snapshot index."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.attempts import Attempt
from domain.proctoring import CONNECTIVITY_EVENT_TYPES, ProctorSession
from projections.rows import RowView, Upsert, topics_of

TABLES = [
    "CREATE TABLE IF NOT EXISTS timeline_sessions (session_id TEXT PRIMARY KEY, attempt_id TEXT, "
    "candidate_id TEXT)",
    "CREATE TABLE IF NOT EXISTS timeline_items (position BIGINT PRIMARY KEY, attempt_id TEXT, "
    "at TEXT, kind TEXT, label TEXT, detail TEXT, category TEXT)",
    "CREATE INDEX IF NOT EXISTS timeline_items_attempt ON timeline_items (attempt_id, position)",
    "CREATE TABLE IF NOT EXISTS timeline_snapshots (snapshot_id TEXT PRIMARY KEY, attempt_id TEXT, "
    "candidate_id TEXT, path TEXT, size_bytes INTEGER, taken_at TEXT, position BIGINT)",
    "CREATE INDEX IF NOT EXISTS timeline_snapshots_attempt ON timeline_snapshots (attempt_id, taken_at)",
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


class TimelineQueries:
    def __init__(self, view: RowView) -> None:
        self.view = view

    def items(self, attempt_id: UUID) -> list[dict[str, Any]]:
        return self.view.query(
            "SELECT * FROM timeline_items WHERE attempt_id = ? ORDER BY position", [str(attempt_id)]
        )

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
