"""The Attempt Video Page's API (supervisor, admin, proctor): the recording's state, the MP4 with
HTTP Range through an authorized route (never a static path), and its status live over SSE."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sse_starlette import EventSourceResponse

from adapters.runtime.bus import FOLLOWER_PROGRESS
from adapters.runtime.services import RECORDINGS, Services
from application.access import REVIEWERS, Actor, require_role
from application.admin import get_settings
from application.attempts import load_attempt
from domain.errors import NotFound
from interfaces.deps import ActorDep, ServicesDep
from interfaces.schemas_recording_review import RecordingOut, RecordingStateEvent, recording_out, state_event

router = APIRouter(prefix="/api/Proctor/recording", tags=["recordings"])
SAFETY_POLL_SECONDS = 5.0  # the bus wakes the stream; this is the net under at-most-once delivery
UNSIGNALLED_POLL_SECONDS = 1.0  # SQLite, followers in `smart-exam worker`: nobody wakes us
VIDEO_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def _recording(services: Services, actor: Actor, attempt_id: UUID, *, wait: bool = True) -> RecordingOut:
    require_role(actor, *REVIEWERS)
    if not services.settings.enable_video_recording:
        raise NotFound("video recording is disabled on this server")
    attempt = load_attempt(services.app, attempt_id)  # 404 for unknown ids
    if wait:
        services.wait_until_current(RECORDINGS)  # reads see writes
    row = services.recordings.recording(attempt_id)
    days = get_settings(services.app).retention_days
    return recording_out(attempt_id, row, attempt.ended_at, days)


@router.get("/{attempt_id}", response_model=RecordingOut)
def recording(attempt_id: UUID, actor: ActorDep, services: ServicesDep) -> RecordingOut:
    return _recording(services, actor, attempt_id)


@router.get("/{attempt_id}/video")
def video(attempt_id: UUID, actor: ActorDep, services: ServicesDep) -> FileResponse:
    """The MP4; Starlette's FileResponse answers Range requests with 206 (and 416)."""
    state = _recording(services, actor, attempt_id)
    row = services.recordings.recording(attempt_id)
    if state.status != "Ready" or row is None or not row.get("path"):
        raise NotFound(f"the recording of attempt {attempt_id} is {state.status}, not Ready")
    path = services.media.resolve(row["path"])
    if not path.is_file():
        raise NotFound(f"the recording of attempt {attempt_id} is not on disk")
    return FileResponse(path, media_type="video/mp4", headers=VIDEO_HEADERS)


def message(position: int, state: RecordingStateEvent) -> dict[str, str]:
    return {"event": "recording", "id": str(position), "data": json.dumps(state.model_dump(by_alias=True))}


@router.get("/{attempt_id}/stream")
async def stream(
    attempt_id: UUID, request: Request, actor: ActorDep, services: ServicesDep
) -> EventSourceResponse:
    """SSE: event `recording` with the status now, then one on each change (Recording ->
    Processing -> Ready / Failed / Deleted); `id` = the recordings read model's position."""
    first = await run_in_threadpool(_recording, services, actor, attempt_id)
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def progressed(payload: dict[str, Any]) -> None:
        if payload.get("name") in (None, RECORDINGS):
            loop.call_soon_threadsafe(wake.set)

    poll = SAFETY_POLL_SECONDS if services.changes_are_signalled else UNSIGNALLED_POLL_SECONDS

    def position() -> int:
        return services.recordings.view.max_tracking_id(services.app.name) or 0

    async def events() -> AsyncIterator[dict[str, Any]]:
        unsubscribe = services.bus.subscribe(FOLLOWER_PROGRESS, progressed)
        try:
            sent = state_event(first)
            at = await run_in_threadpool(position)
            yield message(at, sent)
            while True:
                with contextlib.suppress(TimeoutError):  # the bus delivers at most once: look anyway
                    await asyncio.wait_for(wake.wait(), poll)
                wake.clear()
                at = await run_in_threadpool(position)
                out = await run_in_threadpool(_recording, services, actor, attempt_id, wait=False)
                if state_event(out) != sent:
                    sent = state_event(out)
                    yield message(at, sent)
        finally:
            unsubscribe()

    return EventSourceResponse(
        events(),
        ping=services.settings.sse_heartbeat_seconds,
        send_timeout=10,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
