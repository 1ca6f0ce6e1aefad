"""Proctor Center read model: one row per attempt, plus exams and users for names."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.attempts import Attempt
from domain.exams import Exam
from domain.proctoring import ProctorSession
from domain.users import User
from projections.rows import Change, RowView, Update, Upsert, topics_of

TABLES = [
    "CREATE TABLE IF NOT EXISTS center_exams (exam_id TEXT PRIMARY KEY, title TEXT, "
    "duration_seconds INTEGER, proctoring_enabled INTEGER, question_count INTEGER, "
    "pass_mark INTEGER, created_at TEXT)",
    "CREATE TABLE IF NOT EXISTS center_users (user_id TEXT PRIMARY KEY, username TEXT, "
    "display_name TEXT, role TEXT)",
    "CREATE TABLE IF NOT EXISTS center_attempts (attempt_id TEXT PRIMARY KEY, session_id TEXT, "
    "exam_id TEXT, exam_title TEXT, candidate_id TEXT, candidate_name TEXT, attempt_status TEXT, "
    "session_status TEXT, started_at TEXT, deadline TEXT, ended_at TEXT, score INTEGER, "
    "snapshot_count INTEGER DEFAULT 0, last_snapshot_at TEXT, latest_snapshot_id TEXT, "
    "flag_count INTEGER DEFAULT 0, warning_count INTEGER DEFAULT 0, last_warning TEXT, "
    "last_warning_at TEXT, live_status TEXT DEFAULT 'Offline', recording_status TEXT DEFAULT "
    "'None', position BIGINT)",
    "CREATE INDEX IF NOT EXISTS center_attempts_position ON center_attempts (position)",
    "CREATE INDEX IF NOT EXISTS center_attempts_session ON center_attempts (session_id)",
    "CREATE TABLE IF NOT EXISTS center_event_counts (attempt_id TEXT, type TEXT, "
    "count INTEGER, PRIMARY KEY (attempt_id, type))",
]

LIVE_STATUS = {
    "live_connected": "Live",
    "live_reconnecting": "Reconnecting",
    "live_lost": "Offline",
}


class ProctorCenterProjection(Projection[RowView]):
    name = "proctor_center"
    topics = topics_of(
        Exam.ExamCreated,
        User.Registered,
        Attempt.Started,
        Attempt.Submitted,
        Attempt.Expired,
        Attempt.ForceEnded,
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

    def _session_row(self, event: Any, tracking: Tracking, **values: Any) -> Update:
        return _session_update(event, tracking, values, {})

    @process_event.register
    def _(self, e: Exam.ExamCreated, tracking: Tracking) -> None:
        self.view.write(
            tracking,
            [
                Upsert(
                    "center_exams",
                    {"exam_id": e.originator_id},
                    {
                        "title": e.title,
                        "duration_seconds": e.duration_seconds,
                        "proctoring_enabled": e.proctoring_enabled,
                        "question_count": len(e.questions),
                        "pass_mark": e.pass_mark,
                        "created_at": e.timestamp,
                    },
                )
            ],
        )

    @process_event.register
    def _(self, e: User.Registered, tracking: Tracking) -> None:
        self.view.write(
            tracking,
            [
                Upsert(
                    "center_users",
                    {"user_id": e.originator_id},
                    {
                        "username": e.username,
                        "display_name": e.display_name,
                        "role": e.role,
                    },
                )
            ],
        )

    @process_event.register
    def _(self, e: Attempt.Started, tracking: Tracking) -> None:
        exam = _first(self.view.query("SELECT title FROM center_exams WHERE exam_id = ?", [str(e.exam_id)]))
        user = _first(
            self.view.query("SELECT display_name FROM center_users WHERE user_id = ?", [str(e.candidate_id)])
        )
        self.view.write(
            tracking,
            [
                Upsert(
                    "center_attempts",
                    {"attempt_id": e.originator_id},
                    {
                        "session_id": e.proctor_session_id,
                        "exam_id": e.exam_id,
                        "exam_title": exam.get("title", ""),
                        "candidate_id": e.candidate_id,
                        "candidate_name": user.get("display_name", ""),
                        "attempt_status": "Active",
                        "session_status": "Active" if e.proctor_session_id else None,
                        "started_at": e.started_at,
                        "deadline": e.deadline,
                        "position": tracking.notification_id,
                    },
                )
            ],
        )

    @process_event.register
    def _(self, e: Attempt.Submitted, tracking: Tracking) -> None:
        self._attempt_ended(e, tracking, "Submitted", e.score)

    @process_event.register
    def _(self, e: Attempt.Expired, tracking: Tracking) -> None:
        self._attempt_ended(e, tracking, "Expired", e.score)

    @process_event.register
    def _(self, e: Attempt.ForceEnded, tracking: Tracking) -> None:
        self._attempt_ended(e, tracking, "Cancelled", None)

    def _attempt_ended(self, e: Any, tracking: Tracking, status: str, score: int | None) -> None:
        self.view.write(
            tracking,
            [
                Update(
                    "center_attempts",
                    {"attempt_id": e.originator_id},
                    {
                        "attempt_status": status,
                        "ended_at": e.ended_at,
                        "score": score,
                        "position": tracking.notification_id,
                    },
                )
            ],
        )

    @process_event.register
    def _(self, e: ProctorSession.SessionCompleted, tracking: Tracking) -> None:
        self.view.write(
            tracking,
            [self._session_row(e, tracking, session_status="Completed", live_status="Offline")],
        )

    @process_event.register
    def _(self, e: ProctorSession.SessionCancelled, tracking: Tracking) -> None:
        self.view.write(
            tracking,
            [self._session_row(e, tracking, session_status="Cancelled", live_status="Offline")],
        )

    @process_event.register
    def _(self, e: ProctorSession.SnapshotTaken, tracking: Tracking) -> None:
        self.view.write(
            tracking,
            [
                _session_update(
                    e,
                    tracking,
                    {
                        "last_snapshot_at": e.taken_at,
                        "latest_snapshot_id": e.snapshot_id,
                    },
                    {"snapshot_count": 1},
                )
            ],
        )

    @process_event.register
    def _(self, e: ProctorSession.ProctorEventRecorded, tracking: Tracking) -> None:
        changes: list[Change] = [self._count(e, tracking, e.type)]
        live = LIVE_STATUS.get(e.type)
        changes.append(self._session_row(e, tracking, **({"live_status": live} if live else {})))
        self.view.write(tracking, changes)

    @process_event.register
    def _(self, e: ProctorSession.Flagged, tracking: Tracking) -> None:
        self.view.write(
            tracking,
            [
                self._count(e, tracking, "flagged"),
                _session_update(e, tracking, {}, {"flag_count": 1}),
            ],
        )

    @process_event.register
    def _(self, e: ProctorSession.Warned, tracking: Tracking) -> None:
        self.view.write(
            tracking,
            [
                _session_update(
                    e,
                    tracking,
                    {
                        "last_warning": e.message,
                        "last_warning_at": e.at,
                    },
                    {"warning_count": 1},
                )
            ],
        )

    def _count(self, e: Any, tracking: Tracking, type_: str) -> Upsert:
        row = _first(
            self.view.query(
                "SELECT attempt_id FROM center_attempts WHERE session_id = ?", [str(e.originator_id)]
            )
        )
        return Upsert(
            "center_event_counts",
            {"attempt_id": row.get("attempt_id", ""), "type": type_},
            {},
            {"count": 1},
        )


def _session_update(e: Any, tracking: Tracking, values: dict[str, Any], increments: dict[str, int]) -> Update:
    return Update(
        "center_attempts",
        {"session_id": e.originator_id},
        {**values, "position": tracking.notification_id},
        increments,
    )


def _first(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return rows[0] if rows else {}
