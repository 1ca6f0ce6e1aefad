"""Recording chunk uploads (every candidate every few seconds) and what is held so far.

Like the snapshot upload, the upload route has two dependencies (the caller, and the chunk
intake holding everything else), streams the body to the ingest pipeline's writer threads,
and writes its JSON itself. Everything the request says is checked before the body is read,
and a chunk held already is answered without reading it."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response

from adapters.ingest.chunks import STORED, ChunkIntake, ChunkRequest
from application.recordings import chunk_report
from domain.errors import InvalidInput
from domain.recordings import MAX_SEGMENT, MAX_SEQ
from interfaces.deps import ActorDep, ServicesDep
from interfaces.request_values import declared_length, whole_number
from interfaces.schemas_recordings import ChunkStatusOut, ChunkStoredOut

router = APIRouter(prefix="/api/Proctor/video-chunk", tags=["recording"])
NO_STORE = {"Cache-Control": "no-store"}
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


async def get_chunk_intake(request: Request) -> ChunkIntake:
    intake: ChunkIntake = request.app.state.chunk_intake
    return intake


ChunkIntakeDep = Annotated[ChunkIntake, Depends(get_chunk_intake)]


def _integer(name: str, low: int, high: int) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": low, "maximum": high}
    return {"name": name, "in": "query", "required": True, "schema": schema}


# Read from the request by the route itself (FastAPI's validation of four parameters cost the
# loop more than the rest of the route), and declared here for the OpenAPI schema.
UPLOAD_PARAMETERS = {
    "parameters": [
        _integer("segment", 0, MAX_SEGMENT),
        _integer("seq", 0, MAX_SEQ),
        {"name": "final", "in": "query", "required": False, "schema": {"type": "boolean"}},
        {"name": "X-Chunk-Sha256", "in": "header", "required": True, "schema": {"type": "string"}},
    ]
}


@router.post(
    "/{attempt_id}",
    response_model=ChunkStoredOut,
    status_code=201,
    responses={200: {"model": ChunkStoredOut, "description": "the same bytes were held already"}},
    openapi_extra=UPLOAD_PARAMETERS,
)
async def upload_chunk(
    attempt_id: UUID, request: Request, actor: ActorDep, intake: ChunkIntakeDep
) -> Response:
    intake.require_enabled()
    query, headers = request.query_params, request.headers
    segment = _query_int(query.get("segment"), "segment", MAX_SEGMENT)
    seq = _query_int(query.get("seq"), "seq", MAX_SEQ)
    final = _query_flag(query.get("final"))
    mime = headers.get("content-type", "")
    chunk = ChunkRequest.parse(segment, seq, headers.get("x-chunk-sha256"), mime, final)
    intake.pipeline.refuse_declared_length(declared_length(request))
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


def _query_int(raw: str | None, name: str, high: int) -> int:
    value = whole_number(raw)
    if value is None or value > high:
        raise InvalidInput(f"{name} must be a whole number from 0 to {high}")
    return value


def _query_flag(raw: str | None) -> bool:
    if raw is None or raw.lower() in FALSE:
        return False
    if raw.lower() in TRUE:
        return True
    raise InvalidInput("final must be 1 or 0 (true or false)")
