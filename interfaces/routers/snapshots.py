"""Snapshot uploads: the hottest route, every candidate every few seconds.

The event loop is what limits uploads/s, so this route costs it as little as it can: it is
matched first, it has two async dependencies (the caller, and the snapshot intake that holds
everything else: each dependency FastAPI solves costs ~11 us of the loop per request), the
body goes to the ingest pipeline's writer threads, and it writes its JSON itself instead
of having FastAPI validate the model it just built (benchmarks/README.md).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response

from adapters.ingest.snapshots import SnapshotIntake
from domain.errors import UnsupportedMediaType
from interfaces.deps import ActorDep
from interfaces.schemas import SnapshotOut, snapshot_url

router = APIRouter(prefix="/api/Proctor", tags=["proctor"])
JPEG_TYPES = {"image/jpeg", "image/jpg", "image/pjpeg"}


async def get_snapshot_intake(request: Request) -> SnapshotIntake:
    intake: SnapshotIntake = request.app.state.snapshot_intake
    return intake


SnapshotIntakeDep = Annotated[SnapshotIntake, Depends(get_snapshot_intake)]


@router.post("/snapshot/{attempt_id}", response_model=SnapshotOut, status_code=201)
async def upload_snapshot(
    attempt_id: UUID, request: Request, actor: ActorDep, intake: SnapshotIntakeDep
) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JPEG_TYPES:
        raise UnsupportedMediaType("send the snapshot as Content-Type: image/jpeg")
    intake.pipeline.refuse_declared_length(_declared_length(request))
    session = await intake.authorize(actor, attempt_id)
    file = await intake.ingest(session, request.stream())
    out = SnapshotOut(
        snapshot_id=file.snapshot_id, url=snapshot_url(file.snapshot_id), taken_at=file.taken_at
    )
    return Response(out.model_dump_json(by_alias=True), status_code=201, media_type="application/json")


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    return int(raw) if raw and raw.isascii() and raw.isdigit() else None
