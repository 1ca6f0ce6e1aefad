"""WS /ws/proctor/live/{attemptId}: WebRTC signaling for live video (the candidate's page
publishes, staff view). Every refusal closes that one socket with a code and a reason:
4000 + the HTTP status of the error (interfaces/errors.py), 1009 for a message over 64 KiB."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any
from uuid import UUID

from fastapi import APIRouter, WebSocket
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from adapters.runtime.command_lane import CommandLane
from adapters.runtime.live_relay import OVERFLOW, LiveRelay, Mailbox
from adapters.runtime.services import Services
from application.live import (
    PUBLISHER,
    LiveQuality,
    LiveSeat,
    check_route,
    ice_configuration,
    join_live,
    record_live_state,
)
from domain.errors import BadRequest, NotAuthenticated, PermissionDenied, RateLimited, SmartExamError
from interfaces.deps import actor_from
from interfaces.errors import close_code
from interfaces.forwarded import is_https
from interfaces.schemas_live import CLIENT_ID, MAX_MESSAGE_BYTES, SIGNAL
from interfaces.throttle import MessageBudget

router = APIRouter(tags=["live"])
log = logging.getLogger(__name__)
LIVE_STATES_UP = {"connected", "reconnecting"}
SERVER_RESTART = 1012  # uvicorn closes with this on shutdown: the peers are not gone
TOO_BIG = 1009


class _Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def _check_origin(websocket: WebSocket, services: Services) -> None:
    """Cross-site WebSocket hijacking: a browser always sends Origin; only ours (and the
    configured ones) may open the socket with the user's cookie. Non-browser clients send none."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return
    settings = services.settings
    scheme = "https" if is_https(websocket, settings.trusted_proxies) else "http"
    own = f"{scheme}://{websocket.headers.get('host', '')}".lower()
    if origin.lower() != own and origin.rstrip("/") not in settings.allowed_origins:
        raise PermissionDenied(f"origin {origin[:60]} may not open live video here")


async def _join(websocket: WebSocket, services: Services, attempt_id: str) -> LiveSeat:
    _check_origin(websocket, services)
    actor = actor_from(websocket, websocket.app.state.signer)
    if actor is None:
        raise NotAuthenticated("log in first (cookie session or Authorization: Bearer)")
    try:
        attempt = UUID(attempt_id)
        client_id = CLIENT_ID.validate_python(websocket.query_params.get("peer", ""))
    except (ValueError, ValidationError) as exc:
        raise BadRequest("need an attempt id and ?peer=<8-64 letters, digits, _ or ->") from exc
    return await run_in_threadpool(join_live, services.app, services.settings, actor, attempt, client_id)


class _QualityReporter:
    """Records the candidate page's live state; the latest state wins a rate-limit wait."""

    def __init__(
        self, seat: LiveSeat, services: Services, quality: LiveQuality, commands: CommandLane
    ) -> None:
        self.seat, self.services, self.quality, self.commands = seat, services, quality, commands
        self.latest: str | None = None
        self.task: asyncio.Task[None] | None = None

    def offer(self, state: str) -> None:
        self.latest = state
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while (state := self.latest) is not None:
            delay = self.quality.decide(self.seat.attempt_id, state, time.monotonic())
            if delay is None:
                return
            if delay > 0:
                await asyncio.sleep(delay)  # a rate-limit wait, not a wait for an event
                continue
            await self.record(state)
            if self.latest == state:
                return

    async def record(self, state: str) -> None:
        try:
            await self.commands.run(record_live_state, self.services.app, self.seat, state)
        except SmartExamError as exc:  # the attempt ended meanwhile: nothing live to record
            log.info("live state %s of %s not recorded: %s", state, self.seat.attempt_id, exc.detail)

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()


async def _read(websocket: WebSocket, seat: LiveSeat, relay: LiveRelay, reporter: _QualityReporter) -> int:
    """Relays the socket's messages until it closes; returns the peer's close code."""
    budget = MessageBudget()
    while True:
        event = await websocket.receive()
        if event["type"] == "websocket.disconnect":
            return int(event.get("code") or 1005)
        text = event.get("text")
        if text is None:
            raise _Closed(4400, "text frames of JSON only")
        if len(text.encode()) > MAX_MESSAGE_BYTES:
            raise _Closed(TOO_BIG, f"a message may be at most {MAX_MESSAGE_BYTES} bytes")
        if not budget.take(time.monotonic()):
            raise RateLimited("too many messages on this socket")
        try:
            message = SIGNAL.validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "message"
            raise _Closed(4400, f"malformed message: {where}: {first.get('msg', 'invalid')}") from None
        check_route(seat, message.type, message.to)
        if message.type == "status":
            reporter.offer(message.state)
            continue
        relay.send(seat, message.model_dump(exclude={"to"}), message.to)


async def _write(websocket: WebSocket, mailbox: Mailbox) -> None:
    while True:
        message = await mailbox.queue.get()
        if message is OVERFLOW:
            raise _Closed(1013, "this socket fell too far behind; reconnect")
        await websocket.send_text(json.dumps(message, separators=(",", ":")))


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    """A close reason must fit 123 bytes of UTF-8: longer ones are cut."""
    if websocket.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await websocket.close(code, reason.encode()[:123].decode(errors="ignore"))


@router.websocket("/ws/proctor/live/{attempt_id}")
async def live_signaling(websocket: WebSocket, attempt_id: str) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()  # first, so that a refusal reaches the page as a close code
    try:
        seat = await _join(websocket, services, attempt_id)
    except SmartExamError as exc:
        await _close(websocket, close_code(exc), exc.detail)
        return
    relay: LiveRelay = websocket.app.state.live_relay
    reporter = _QualityReporter(
        seat, services, websocket.app.state.live_quality, websocket.app.state.commands
    )
    welcome: dict[str, Any] = {"type": "welcome", "role": seat.role, "peer": seat.peer}
    welcome.update(ice_configuration(services.settings, seat.actor, time.time()))
    mailbox = relay.open(seat)
    code = 1011
    tasks: list[asyncio.Task[Any]] = []
    try:
        await websocket.send_text(json.dumps(welcome))
        reader = asyncio.create_task(_read(websocket, seat, relay, reporter))
        tasks = [reader, asyncio.create_task(_write(websocket, mailbox))]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            code = task.result() if task is reader else 1000  # raises the task's refusal, if any
    except _Closed as closed:
        code = closed.code
        await _close(websocket, closed.code, closed.reason)
    except SmartExamError as exc:
        code = close_code(exc)
        await _close(websocket, code, exc.detail)
    except (WebSocketDisconnect, RuntimeError, OSError):
        code = 1006
    finally:
        for task in tasks:
            task.cancel()
        reporter.stop()
        await _leave(seat, relay, mailbox, reporter, code)
        await _close(websocket, 1000, "bye")


async def _leave(
    seat: LiveSeat, relay: LiveRelay, mailbox: Mailbox, reporter: _QualityReporter, code: int
) -> None:
    """The other side hears the peer leave, unless the server is only restarting (the pages
    reconnect and their peer connections, which never passed through us, go on)."""
    others_here = relay.close(mailbox)
    if code == SERVER_RESTART:
        return
    relay.send(seat, {"type": "bye"}, None)
    if seat.role != PUBLISHER or others_here:
        return
    # The page's own "lost" may still wait out the rate limit (its task was just cancelled):
    # what counts is what was recorded, and what the page last said.
    recorded = reporter.quality.recorded(seat.attempt_id)
    reporter.quality.forget(seat.attempt_id)
    if recorded != "lost" and LIVE_STATES_UP & {recorded, reporter.latest}:
        await reporter.record("lost")
