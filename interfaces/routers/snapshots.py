"""Snapshot uploads: the hottest route, every candidate every few seconds.

The event loop is what limits uploads/s, so this route costs it as little as it can: it is
matched first, it calls the dependency functions itself instead of having FastAPI solve them
per request, and it writes its JSON itself instead of having FastAPI validate the model it
just built. Measured with the loop saturated: ~15% more uploads/s (benchmarks/README.md).
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response

from application import evidence
from domain.errors import PayloadTooLarge, UnsupportedMediaType
from interfaces.deps import current_actor, get_commands, get_services
from interfaces.schemas import SnapshotOut, snapshot_url
from interfaces.snapshot_ingest import SnapshotIngest

router = APIRouter(prefix="/api/Proctor", tags=["proctor"])
JPEG_TYPES = {"image/jpeg", "image/jpg", "image/pjpeg"}


@router.post("/snapshot/{attempt_id}", response_model=SnapshotOut, status_code=201)
async def upload_snapshot(attempt_id: UUID, request: Request) -> Response:
    actor = await current_actor(request)
    services = await get_services(request)
    commands = await get_commands(request)
    ingest: SnapshotIngest = request.app.state.snapshot_ingest
    limit = services.settings.max_snapshot_bytes
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JPEG_TYPES:
        raise UnsupportedMediaType("send the snapshot as Content-Type: image/jpeg")
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"snapshot is larger than {limit} bytes")
    session = await commands.run(evidence.snapshot_session, services.app, actor, attempt_id)
    file = await ingest.ingest(session, await _read_body(request, limit))
    out = SnapshotOut(
        snapshot_id=file.snapshot_id, url=snapshot_url(file.snapshot_id), taken_at=file.taken_at
    )
    return Response(out.model_dump_json(by_alias=True), status_code=201, media_type="application/json")


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    return int(raw) if raw and raw.isdigit() else None


async def _read_body(request: Request, max_bytes: int) -> bytes:
    """The body in memory under a cap, once the caller's attempt has been checked: a snapshot
    is small, and nothing touches the disk until the image has been checked too."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"snapshot is larger than {max_bytes} bytes")
    return bytes(body)
