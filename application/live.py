"""Live video: who joins an attempt's signaling channel and as what, the routing rules of its
messages, the ICE configuration a page gets (time-limited TURN credentials), and the candidate's
live availability recorded as connectivity events (transitions only, rate-limited). Media never
passes through the server; it relays signaling only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application.access import CANDIDATES, Actor
from application.app import SmartExamApp
from application.attempts import read_attempt
from application.config import AppSettings
from application.evidence import record_client_event
from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unavailable

PUBLISHER = "publisher"
VIEWER = "viewer"
ADDRESSED = frozenset({"offer", "answer", "ice", "restart"})  # the publisher names the viewer
LIVE_EVENTS = {"connected": "live_connected", "reconnecting": "live_reconnecting", "lost": "live_lost"}
STATE_DETAIL = {
    "connected": "live video available to proctors",
    "reconnecting": "live video reconnecting",
    "lost": "live video lost",
}
RECORD_EVERY_SECONDS = 3.0  # at most one live_* event per attempt this often; the latest wins


@dataclass(frozen=True)
class LiveSeat:
    """One signaling socket's place: its attempt, role and peer id (stable per page)."""

    attempt_id: UUID
    role: str
    peer: str
    actor: Actor


def peer_id(actor: Actor, client_id: str) -> str:
    """The peer id others see: bound to the user, so nobody can speak as another's page."""
    return hashlib.sha256(f"{actor.user_id}:{client_id}".encode()).hexdigest()[:20]


def join_live(
    app: SmartExamApp, settings: AppSettings, actor: Actor, attempt_id: UUID, client_id: str
) -> LiveSeat:
    """The owner candidate publishes, staff view; another candidate's attempt is not found."""
    if not settings.enable_live_video:
        raise Unavailable("live video is turned off on this server")
    attempt = read_attempt(app, actor, attempt_id)
    if actor.role in CANDIDATES:
        role = PUBLISHER  # read_attempt let only the owner through
    elif actor.is_staff:
        role = VIEWER
    else:
        raise PermissionDenied("only the candidate and staff may join live video")
    if attempt.proctor_session_id is None:
        raise NotFound("proctoring is not enabled for this attempt")
    if attempt.status != "Active":
        raise Conflict(f"this attempt has ended ({attempt.status}); there is nothing live to watch")
    return LiveSeat(attempt_id, role, peer_id(actor, client_id), actor)


def check_route(seat: LiveSeat, kind: str, to: str | None) -> None:
    """A viewer speaks only to the candidate's page; the candidate's page names its viewer."""
    if seat.role == VIEWER:
        if to is not None:
            raise PermissionDenied("a viewer talks only to the candidate's page: no 'to'")
        if kind == "status":
            raise PermissionDenied("only the candidate's page reports live status")
    elif kind in ADDRESSED and to is None:
        raise InvalidInput(f"the candidate's page must name the viewer ('to') of a {kind}")


def turn_credentials(secret: str, user: str, expires_at: int) -> dict[str, str]:
    """coturn's use-auth-secret (TURN REST): username "<expiry>:<user>", credential
    base64(HMAC-SHA1(secret, username)); coturn refuses it once the expiry has passed."""
    username = f"{expires_at}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return {"username": username, "credential": base64.b64encode(digest).decode()}


def ice_configuration(settings: AppSettings, actor: Actor, now_unix: float) -> dict[str, Any]:
    servers = []
    for server in settings.ice_servers:
        entry = server.model_dump(exclude_none=True)
        if server.is_turn and server.username is None and settings.turn_secret:
            expires_at = int(now_unix) + settings.turn_ttl_seconds
            entry.update(turn_credentials(settings.turn_secret, str(actor.user_id), expires_at))
        servers.append(entry)
    return {"iceServers": servers, "iceTransportPolicy": settings.ice_transport_policy}


class LiveQuality:
    """The live state last recorded per attempt in this process: only a change is recorded,
    at most once per RECORD_EVERY_SECONDS; a change within that wait is recorded after it."""

    def __init__(self, every: float = RECORD_EVERY_SECONDS) -> None:
        self.every = every
        self._lock = threading.Lock()
        self._recorded: dict[UUID, tuple[str, float]] = {}

    def decide(self, attempt_id: UUID, state: str, now: float) -> float | None:
        """0: record now (and it is noted as recorded); > 0: ask again after that many seconds;
        None: nothing to record (already the recorded state)."""
        with self._lock:
            last = self._recorded.get(attempt_id)
            if last is not None and last[0] == state:
                return None
            if last is not None and now - last[1] < self.every:
                return self.every - (now - last[1])
            self._recorded[attempt_id] = (state, now)
            return 0.0

    def recorded(self, attempt_id: UUID) -> str | None:
        with self._lock:
            last = self._recorded.get(attempt_id)
            return last[0] if last else None

    def forget(self, attempt_id: UUID) -> None:
        with self._lock:
            self._recorded.pop(attempt_id, None)


def record_live_state(app: SmartExamApp, seat: LiveSeat, state: str) -> int:
    """Connectivity, never conduct: shown on the timeline and the card, never in the risk."""
    return record_client_event(app, seat.actor, seat.attempt_id, LIVE_EVENTS[state], STATE_DETAIL[state])
