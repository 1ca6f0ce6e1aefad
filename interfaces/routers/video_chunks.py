"""Recording chunk uploads (every candidate every few seconds) and what is held so far.

Like the snapshot upload, the upload route has two dependencies (the caller, and the chunk
intake holding everything else), streams the body to the ingest pipeline's writer threads,
and writes its JSON itself. Everything the request says is checked before the body is read,
and a chunk held already is answered without reading it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from adapters.ingest.chunks import STORED, ChunkIntake, ChunkRequest
from application.recordings import chunk_report
from domain.recordings import MAX_SEGMENT, MAX_SEQ
from interfaces.deps import ActorDep, ServicesDep
from interfaces.schemas_recordings import ChunkStatusOut, ChunkStoredOut

router = APIRouter(prefix="/api/Proctor/video-chunk", tags=["recording"])
NO_STORE = {"Cache-Control": "no-store"}


async def get_chunk_intake(request: Request) -> ChunkIntake:
    intake: ChunkIntake = request.app.state.chunk_intake
    return intake


ChunkIntakeDep = Annotated[ChunkIntake, Depends(get_chunk_intake)]


@router.post(
    "/{attempt_id}",
    response_model=ChunkStoredOut,
    status_code=201,
    responses={200: {"model": ChunkStoredOut, "description": "the same bytes were held already"}},
)
async def upload_chunk(
    attempt_id: UUID,
    request: Request,
    actor: ActorDep,
    intake: ChunkIntakeDep,
    segment: Annotated[int, Query(ge=0, le=MAX_SEGMENT)],
    seq: Annotated[int, Query(ge=0, le=MAX_SEQ)],
    final: bool = False,
    x_chunk_sha256: Annotated[str | None, Header()] = None,
) -> Response:
    intake.require_enabled()
    chunk = ChunkRequest.parse(segment, seq, x_chunk_sha256, request.headers.get("content-type", ""), final)
    intake.pipeline.refuse_declared_length(_declared_length(request))
    recording = await intake.authorize(actor, attempt_id)
    outcome = await intake.ingest(recording, chunk, request.stream())
    out = ChunkStoredOut(segment=segment, seq=seq, status=outcome)
    status = 201 if outcome == STORED else 200
    return Response(out.model_dump_json(by_alias=True), status_code=status, media_type="application/json")


@router.get("/{attempt_id}/status", response_model=ChunkStatusOut)
def chunk_status(
    attempt_id: UUID, actor: ActorDep, services: ServicesDep, intake: ChunkIntakeDep
) -> Response:
    """Read from the store on a worker thread (the client trusts it to decide what to resend)."""
    intake.require_enabled()
    report = chunk_report(services.app, actor, attempt_id)
    out = ChunkStatusOut(attempt_id=attempt_id, **report)
    return Response(out.model_dump_json(by_alias=True), media_type="application/json", headers=NO_STORE)


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    return int(raw) if raw and raw.isdigit() else None
