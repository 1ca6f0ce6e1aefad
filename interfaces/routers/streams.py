"""Server-Sent Events: the Proctor Center stream (staff) and one attempt's stream (its candidate).
SSE id = read-model position; Last-Event-ID resumes with nothing lost and nothing repeated."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse

from adapters.runtime.live_feed import FeedClient, SessionFeed
from application.access import STAFF, require_role
from application.attempts import read_attempt
from interfaces.deps import ActorDep, LastEventIdDep, ServicesDep
from projections.samples import sample_sessions

router = APIRouter(tags=["streams"])


def _respond(request: Request, events: AsyncIterator[dict[str, Any]]) -> EventSourceResponse:
    heartbeat = request.app.state.services.settings.sse_heartbeat_seconds
    return EventSourceResponse(
        events,
        ping=heartbeat,
        send_timeout=10,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _follow(
    feed: SessionFeed, client: FeedClient, sent: int, event: str, shape: Any
) -> AsyncIterator[dict[str, Any]]:
    try:
        while True:
            change = await client.queue.get()
            if change is None:  # dropped as stalled: end; the browser resumes with Last-Event-ID
                return
            if change.position <= sent:
                continue
            sent = change.position
            yield {"event": event, "id": str(sent), "data": json.dumps(shape(change))}
    finally:
        feed.unsubscribe(client)


@router.get("/api/Proctor/sessions/stream")
async def sessions_stream(
    request: Request,
    actor: ActorDep,
    services: ServicesDep,
    resume_from: LastEventIdDep,
    include_samples: Annotated[bool, Query(alias="includeSamples")] = False,
) -> EventSourceResponse:
    require_role(actor, *STAFF)
    feed: SessionFeed = request.app.state.feed
    client = feed.subscribe(lambda row: row.get("session_id") is not None)

    async def events() -> AsyncIterator[dict[str, Any]]:
        center = services.center
        if resume_from is None:
            position, rows = await run_in_threadpool(center.active_snapshot)
            if not rows and include_samples and center.samples_enabled:
                rows = sample_sessions(services.app.clock.now())
            data = {"position": position, "sessions": [feed.to_change(r).session for r in rows]}
            yield {"event": "snapshot", "id": str(position), "data": json.dumps(data)}
            sent = position
        else:
            sent = resume_from
            while rows := await run_in_threadpool(center.changed_since, sent):
                for row in rows:
                    sent = row["position"]
                    if row.get("session_id") is not None:
                        yield {
                            "event": "session",
                            "id": str(sent),
                            "data": json.dumps(feed.to_change(row).session),
                        }
        async for message in _follow(feed, client, sent, "session", lambda c: c.session):
            yield message

    return _respond(request, events())


def _attempt_state(session: dict[str, Any]) -> dict[str, Any]:
    """What a candidate's page may know: its status and the proctor's warnings, nothing else."""
    return {
        "status": session.get("attemptStatus"),
        "sessionStatus": session.get("status"),
        "warningCount": session.get("warningCount", 0),
        "lastWarning": session.get("lastWarning"),
        "lastWarningAt": session.get("lastWarningAt"),
    }


@router.get("/api/attempts/{attempt_id}/stream")
async def attempt_stream(
    attempt_id: UUID, request: Request, actor: ActorDep, services: ServicesDep
) -> EventSourceResponse:
    attempt = await run_in_threadpool(read_attempt, services.app, actor, attempt_id)
    feed: SessionFeed = request.app.state.feed
    key = str(attempt_id)
    client = feed.subscribe(lambda row: row["attempt_id"] == key)

    async def events() -> AsyncIterator[dict[str, Any]]:
        position = await run_in_threadpool(services.center.max_position)
        row = await run_in_threadpool(services.center.session, attempt_id)
        state = (
            _attempt_state(feed.to_change(row).session)
            if row
            else {
                "status": attempt.status,
                "sessionStatus": None,
                "warningCount": 0,
                "lastWarning": None,
                "lastWarningAt": None,
            }
        )
        yield {"event": "attempt", "id": str(position), "data": json.dumps(state)}
        async for message in _follow(feed, client, position, "attempt", lambda c: _attempt_state(c.session)):
            yield message

    return _respond(request, events())
