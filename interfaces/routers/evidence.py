"""Proctoring evidence and staff actions: snapshot files, client events, flag, warn, detail,
timeline. Snapshot uploads are in `snapshots`."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import FileResponse

from adapters.runtime.services import CENTER, RECORDINGS, TIMELINE
from application import evidence, staff
from application.access import STAFF, require_owner_or_staff, require_role
from application.attempts import load_attempt
from domain.errors import NotFound
from interfaces.deps import ActorDep, CommandsDep, ServicesDep
from interfaces.schemas import (
    ClientEventIn,
    FlagIn,
    LiveOut,
    PositionOut,
    RecordingStateOut,
    SessionDetailOut,
    SnapshotOut,
    TimelineItemOut,
    WarnIn,
    session_out,
    snapshot_url,
)

router = APIRouter(prefix="/api/Proctor", tags=["proctor"])


@router.get("/snapshot-file/{snapshot_id}")
def snapshot_file(snapshot_id: UUID, actor: ActorDep, services: ServicesDep) -> FileResponse:
    row = services.timeline.snapshot(snapshot_id)
    if row is None and services.wait_until_current(TIMELINE):  # a card may show it a moment sooner
        row = services.timeline.snapshot(snapshot_id)
    if row is None:
        raise NotFound(f"snapshot {snapshot_id} not found")
    require_owner_or_staff(actor, UUID(row["candidate_id"]), f"snapshot {snapshot_id}")
    return FileResponse(
        services.media.resolve(row["path"]),
        media_type="image/jpeg",
        # Webcam images must not stay in a shared browser's cache after logout.
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/event/{attempt_id}", response_model=PositionOut, status_code=201)
async def client_event(
    attempt_id: UUID, body: ClientEventIn, actor: ActorDep, services: ServicesDep, commands: CommandsDep
) -> PositionOut:
    position = await commands.run(
        evidence.record_client_event, services.app, actor, attempt_id, body.type, body.detail
    )
    return PositionOut(status="recorded", position=position)


@router.post("/sessions/{attempt_id}/flag", response_model=PositionOut)
async def flag(
    attempt_id: UUID, body: FlagIn, actor: ActorDep, services: ServicesDep, commands: CommandsDep
) -> PositionOut:
    position = await commands.run(staff.flag, services.app, actor, attempt_id, body.note)
    return PositionOut(status="flagged", position=position)


@router.post("/sessions/{attempt_id}/warn", response_model=PositionOut)
async def warn(
    attempt_id: UUID, body: WarnIn, actor: ActorDep, services: ServicesDep, commands: CommandsDep
) -> PositionOut:
    position = await commands.run(staff.warn, services.app, actor, attempt_id, body.message)
    return PositionOut(status="warned", position=position)


def _timeline(services: ServicesDep, attempt_id: UUID) -> list[TimelineItemOut]:
    return [
        TimelineItemOut(
            position=r["position"],
            at=r["at"],
            kind=r["kind"],
            label=r["label"],
            detail=r["detail"] or "",
            category=r["category"],
        )
        for r in services.timeline.items(attempt_id)
    ]


def _recording_status(services: ServicesDep, attempt_id: UUID, recording_on: bool) -> str:
    row = services.recordings.recording(attempt_id) if recording_on else None
    return str(row["status"]) if row else "None"


@router.get("/sessions/{attempt_id}", response_model=SessionDetailOut)
def session_detail(attempt_id: UUID, actor: ActorDep, services: ServicesDep) -> SessionDetailOut:
    require_role(actor, *STAFF)
    recording_on = services.settings.enable_video_recording
    services.wait_until_current(CENTER, TIMELINE, *([RECORDINGS] if recording_on else []))  # reads see writes
    row = services.center.session(attempt_id)
    if row is None:
        load_attempt(services.app, attempt_id)  # 404 for unknown ids
    if row is None or row.get("session_id") is None:
        raise NotFound(f"no proctor session for attempt {attempt_id}")
    snapshots = [
        SnapshotOut(snapshot_id=s["snapshot_id"], url=snapshot_url(s["snapshot_id"]), taken_at=s["taken_at"])
        for s in services.timeline.snapshots(attempt_id)
    ]
    return SessionDetailOut(
        session=session_out(row),
        snapshots=snapshots,
        timeline=_timeline(services, attempt_id),
        live=LiveOut(enabled=services.settings.enable_live_video, status=row["live_status"] or "Offline"),
        recording=RecordingStateOut(status=_recording_status(services, attempt_id, recording_on)),
    )


@router.get("/timeline/{attempt_id}", response_model=list[TimelineItemOut])
def timeline(attempt_id: UUID, actor: ActorDep, services: ServicesDep) -> list[TimelineItemOut]:
    require_role(actor, *STAFF)
    load_attempt(services.app, attempt_id)  # 404 for unknown ids
    services.wait_until_current(TIMELINE)  # reads see writes
    return _timeline(services, attempt_id)
