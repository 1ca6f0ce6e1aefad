"""Request-scoped dependencies: services from the lifespan state, and the caller's identity.
They do no I/O, so they are async: no threadpool hop per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, WebSocket

from adapters.runtime.command_lane import CommandLane
from adapters.runtime.services import Services
from application.access import Actor
from domain.errors import BadRequest, NotAuthenticated, PermissionDenied
from interfaces.sessions import SessionVersions
from interfaces.tokens import TokenSigner, same_secret

SESSION_COOKIE = "se_session"
CSRF_COOKIE = "se_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_POSITION = 2**63 - 1  # the largest notification id SQLite and PostgreSQL (BIGINT) can hold


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _bearer(request: Request | WebSocket) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _current(request: Request | WebSocket, actor: Actor, version: int) -> Actor:
    """Refuses a revoked session (logout, password change, disabled user): see sessions.py."""
    sessions: SessionVersions | None = getattr(request.app.state, "sessions", None)
    if sessions is not None:
        sessions.require(actor, version)
    return actor


def actor_from(request: Request | WebSocket, signer: TokenSigner) -> Actor | None:
    """The caller, or None when anonymous. Cookie callers must prove the CSRF token on writes."""
    token = _bearer(request)
    if token:
        return _current(request, *signer.verify_with_version(token))
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    actor = _current(request, *signer.verify_with_version(cookie))
    if isinstance(request, Request) and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not same_secret(sent, signer.csrf_for(cookie)):
            raise PermissionDenied("missing or wrong X-CSRF-Token header for a cookie session")
    return actor


async def optional_actor(request: Request) -> Actor | None:
    try:
        return actor_from(request, request.app.state.signer)
    except NotAuthenticated:
        return None


async def current_actor(request: Request) -> Actor:
    actor = actor_from(request, request.app.state.signer)
    if actor is None:
        raise NotAuthenticated("log in first (cookie session or Authorization: Bearer)")
    return actor


async def get_commands(request: Request) -> CommandLane:
    lane: CommandLane = request.app.state.commands
    return lane


ServicesDep = Annotated[Services, Depends(get_services)]
CommandsDep = Annotated[CommandLane, Depends(get_commands)]
ActorDep = Annotated[Actor, Depends(current_actor)]
OptionalActorDep = Annotated[Actor | None, Depends(optional_actor)]


def parse_last_event_id(raw: str | None) -> int | None:
    """An SSE resume position: ASCII digits only ("²".isdigit() is true), at most a BIGINT."""
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or int(raw) > MAX_POSITION:
        raise BadRequest("Last-Event-ID must be a non-negative integer position")
    return int(raw)


async def last_event_id(
    raw: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> int | None:
    return parse_last_event_id(raw)


LastEventIdDep = Annotated[int | None, Depends(last_event_id)]
