from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.errors import Conflict
from domain.flat_state import FlatState

ACTIVE, COMPLETED, CANCELLED = "Active", "Completed", "Cancelled"
SESSION_STATUSES = (ACTIVE, COMPLETED, CANCELLED)

# What a candidate's page may report. Connectivity kinds are kept apart from conduct
# so a network drop never reads as cheating.
CONDUCT_EVENT_TYPES = frozenset(
    {"tab_hidden", "tab_visible", "fullscreen_exit", "camera_denied", "camera_restored"}
)
CONNECTIVITY_EVENT_TYPES = frozenset(
    {
        "snapshot_upload_failed",
        "chunk_upload_failed",
        "live_connected",
        "live_reconnecting",
        "live_lost",
        "network_offline",
        "network_online",
    }
)
CLIENT_EVENT_TYPES = CONDUCT_EVENT_TYPES | CONNECTIVITY_EVENT_TYPES


class ProctorSession(FlatState, Aggregate):
    """The proctoring evidence of one attempt. Created by the backend when the attempt starts."""

    TOPIC = "smart_exam.ProctorSession"

    class Created(Aggregate.Created):
        TOPIC = "smart_exam.ProctorSession.Created"

    class SessionStarted(Aggregate.Created):
        TOPIC = "smart_exam.ProctorSession.SessionStarted"
        attempt_id: UUID
        exam_id: UUID
        candidate_id: UUID
        started_at: datetime

    class SnapshotTaken(Aggregate.Event):
        TOPIC = "smart_exam.ProctorSession.SnapshotTaken"
        snapshot_id: UUID
        path: str
        size_bytes: int
        taken_at: datetime

    class ProctorEventRecorded(Aggregate.Event):
        TOPIC = "smart_exam.ProctorSession.ProctorEventRecorded"
        type: str
        detail: str
        at: datetime

    class Flagged(Aggregate.Event):
        TOPIC = "smart_exam.ProctorSession.Flagged"
        by: UUID
        note: str
        at: datetime

    class Warned(Aggregate.Event):
        TOPIC = "smart_exam.ProctorSession.Warned"
        by: UUID
        message: str
        at: datetime

    class SessionCompleted(Aggregate.Event):
        TOPIC = "smart_exam.ProctorSession.SessionCompleted"
        reason: str
        ended_at: datetime

    class SessionCancelled(Aggregate.Event):
        TOPIC = "smart_exam.ProctorSession.SessionCancelled"
        by: UUID
        reason: str
        ended_at: datetime

    @staticmethod
    def create_id(attempt_id: UUID, **_: object) -> UUID:
        return ids.proctor_session_id(attempt_id)

    @event(SessionStarted)
    def __init__(self, attempt_id: UUID, exam_id: UUID, candidate_id: UUID, started_at: datetime) -> None:
        self.attempt_id = attempt_id
        self.exam_id = exam_id
        self.candidate_id = candidate_id
        self.started_at = started_at
        self.status = ACTIVE
        self.ended_at: datetime | None = None
        self.snapshot_count = 0

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    def _require_active(self) -> None:
        if not self.is_active:
            raise Conflict(f"proctor session of attempt {self.attempt_id} is {self.status}")

    def take_snapshot(self, snapshot_id: UUID, path: str, size_bytes: int, at: datetime) -> None:
        self._require_active()
        self._snapshot_taken(snapshot_id=snapshot_id, path=path, size_bytes=size_bytes, taken_at=at)

    @event(SnapshotTaken)
    def _snapshot_taken(self, snapshot_id: UUID, path: str, size_bytes: int, taken_at: datetime) -> None:
        self.snapshot_count += 1

    def record_event(self, type: str, detail: str, at: datetime) -> None:
        self._require_active()
        self._event_recorded(type=type, detail=detail, at=at)

    @event(ProctorEventRecorded)
    def _event_recorded(self, type: str, detail: str, at: datetime) -> None:
        pass

    def flag(self, by: UUID, note: str, at: datetime) -> None:
        self._require_active()
        self._flagged(by=by, note=note, at=at)

    @event(Flagged)
    def _flagged(self, by: UUID, note: str, at: datetime) -> None:
        pass

    def warn(self, by: UUID, message: str, at: datetime) -> None:
        self._require_active()
        self._warned(by=by, message=message, at=at)

    @event(Warned)
    def _warned(self, by: UUID, message: str, at: datetime) -> None:
        pass

    def complete(self, reason: str, ended_at: datetime) -> None:
        self._require_active()
        self._completed(reason=reason, ended_at=ended_at)

    @event(SessionCompleted)
    def _completed(self, reason: str, ended_at: datetime) -> None:
        self.status, self.ended_at = COMPLETED, ended_at

    def cancel(self, by: UUID, reason: str, ended_at: datetime) -> None:
        self._require_active()
        self._cancelled(by=by, reason=reason, ended_at=ended_at)

    @event(SessionCancelled)
    def _cancelled(self, by: UUID, reason: str, ended_at: datetime) -> None:
        self.status, self.ended_at = CANCELLED, ended_at
