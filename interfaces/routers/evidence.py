"""Proctoring evidence and staff actions: snapshots, client events, flag, warn, detail, timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from application.access import require_owner_or_staff, require_role
from application.proctoring import SnapshotFile
from domain.errors import Conflict, NotFound, PayloadTooLarge, SmartExamError, UnsupportedMediaType
from domain.proctoring import ProctorSession
from interfaces.bootstrap import Services
from interfaces.deps import ActorDep, CommandsDep, ServicesDep, SnapshotCommitsDep
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
from media_storage.images import jpeg_dimensions
from projections.center_queries import APP_NAME

router = APIRouter(prefix="/api/Proctor", tags=["proctor"])
STAFF = ("proctor", "supervisor", "admin")
NAME_TRIES = 5
JPEG_TYPES = {"image/jpeg", "image/jpg", "image/pjpeg"}


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    return int(raw) if raw and raw.isdigit() else None


@router.post("/snapshot/{attempt_id}", response_model=SnapshotOut, status_code=201)
async def upload_snapshot(
    attempt_id: UUID,
    request: Request,
    actor: ActorDep,
    services: ServicesDep,
    commands: CommandsDep,
    snapshots: SnapshotCommitsDep,
) -> SnapshotOut:
    settings = services.settings
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JPEG_TYPES:
        raise UnsupportedMediaType("send the snapshot as Content-Type: image/jpeg")
    declared = _declared_length(request)
    if declared is not None and declared > settings.max_snapshot_bytes:
        raise PayloadTooLarge(f"snapshot is larger than {settings.max_snapshot_bytes} bytes")
    session = await commands.run(services.app.snapshot_session, actor, attempt_id)
    data = await _read_body(request, settings.max_snapshot_bytes)
    file = await run_in_threadpool(_store, services, session, data)
    await snapshots.submit(file)
    return SnapshotOut(
        snapshot_id=file.snapshot_id, url=snapshot_url(file.snapshot_id), taken_at=file.taken_at
    )


async def _read_body(request: Request, max_bytes: int) -> bytes:
    """The body in memory under a cap, once the caller's attempt has been checked: a snapshot
    is small, and nothing touches the disk until the image has been checked too."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"snapshot is larger than {max_bytes} bytes")
    return bytes(body)


def _store(services: Services, session: ProctorSession, data: bytes) -> SnapshotFile:
    settings, app, storage = services.settings, services.app, services.media
    width, height = jpeg_dimensions(data)
    if width * height > settings.max_snapshot_pixels:
        raise PayloadTooLarge(
            f"snapshot has {width}x{height} pixels; the limit is {settings.max_snapshot_pixels}"
        )
    taken_at = app.clock.now()
    for _ in range(NAME_TRIES):  # names are per millisecond: a burst may need the next one
        relative = storage.snapshot_path(session.attempt_id, taken_at)
        try:
            storage.write(relative, data)  # its folder is fsynced with the batch it is recorded in
        except Conflict:
            taken_at += timedelta(milliseconds=1)
            continue
        return SnapshotFile(session, uuid4(), relative, len(data), taken_at)
    raise Conflict("too many snapshots of this attempt at once; retry")


def record_snapshots(services: Services, files: Sequence[SnapshotFile]) -> list[int | SmartExamError]:
    """Records a batch of written snapshots once their names are durable (one fsync per folder
    for the whole batch); a refused one leaves no file behind: no event, no file."""
    try:
        services.media.sync_folders(file.path for file in files)
        results = services.app.record_snapshots(files)
    except Exception:
        for file in files:
            services.media.delete(file.path)
        raise
    for file, result in zip(files, results, strict=True):
        if isinstance(result, Exception):
            services.media.delete(file.path)
    return results


@router.get("/snapshot-file/{snapshot_id}")
def snapshot_file(snapshot_id: UUID, actor: ActorDep, services: ServicesDep) -> FileResponse:
    row = services.timeline.snapshot(snapshot_id)
    if row is None:  # a card shows it a moment before the timeline indexes it: read your writes
        position = services.center.snapshot_position(snapshot_id)
        if position is not None and services.timeline.catch_up(position):
            row = services.timeline.snapshot(snapshot_id)
    if row is None:
        raise NotFound(f"snapshot {snapshot_id} not found")
    require_owner_or_staff(actor, UUID(row["candidate_id"]))
    return FileResponse(
        services.media.resolve(row["path"]),
        media_type="image/jpeg",
        headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/event/{attempt_id}", response_model=PositionOut, status_code=201)
async def client_event(
    attempt_id: UUID, body: ClientEventIn, actor: ActorDep, services: ServicesDep, commands: CommandsDep
) -> PositionOut:
    position = await commands.run(services.app.record_client_event, actor, attempt_id, body.type, body.detail)
    return PositionOut(status="recorded", position=position)


@router.post("/sessions/{attempt_id}/flag", response_model=PositionOut)
async def flag(
    attempt_id: UUID, body: FlagIn, actor: ActorDep, services: ServicesDep, commands: CommandsDep
) -> PositionOut:
    position = await commands.run(services.app.flag, actor, attempt_id, body.note)
    return PositionOut(status="flagged", position=position)


@router.post("/sessions/{attempt_id}/warn", response_model=PositionOut)
async def warn(
    attempt_id: UUID, body: WarnIn, actor: ActorDep, services: ServicesDep, commands: CommandsDep
) -> PositionOut:
    position = await commands.run(services.app.warn, actor, attempt_id, body.message)
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


@router.get("/sessions/{attempt_id}", response_model=SessionDetailOut)
def session_detail(attempt_id: UUID, actor: ActorDep, services: ServicesDep) -> SessionDetailOut:
    require_role(actor, *STAFF)
    row = services.center.session(attempt_id)
    if row is None:  # started a moment ago? read your writes: let the projection catch up
        services.app.load_attempt(attempt_id)  # 404 for unknown ids
        services.center.view.wait_for(APP_NAME, services.app.position())
        row = services.center.session(attempt_id)
    if row is None or row.get("session_id") is None:
        raise NotFound(f"no proctor session for attempt {attempt_id}")
    services.timeline.catch_up(row["position"])
    snapshots = [
        SnapshotOut(snapshot_id=s["snapshot_id"], url=snapshot_url(s["snapshot_id"]), taken_at=s["taken_at"])
        for s in services.timeline.snapshots(attempt_id)
    ]
    return SessionDetailOut(
        session=session_out(row),
        snapshots=snapshots,
        timeline=_timeline(services, attempt_id),
        live=LiveOut(enabled=services.settings.enable_live_video, status=row["live_status"] or "Offline"),
        recording=RecordingStateOut(status=row["recording_status"] or "None"),
    )


@router.get("/timeline/{attempt_id}", response_model=list[TimelineItemOut])
def timeline(attempt_id: UUID, actor: ActorDep, services: ServicesDep) -> list[TimelineItemOut]:
    require_role(actor, *STAFF)
    services.app.load_attempt(attempt_id)  # 404 for unknown ids
    row = services.center.session(attempt_id)
    if row is not None:
        services.timeline.catch_up(row["position"])
    return _timeline(services, attempt_id)
