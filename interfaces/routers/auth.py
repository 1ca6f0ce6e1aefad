from __future__ import annotations

import threading
import time
from collections import deque
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from application import users
from application.access import ADMINS, Actor, require_role
from application.users import authenticate
from domain.errors import NotAuthenticated, PermissionDenied, RateLimited
from domain.users import User
from interfaces.deps import CSRF_COOKIE, SESSION_COOKIE, ActorDep, CommandsDep, ServicesDep, actor_from
from interfaces.schemas import DisabledIn, LoginIn, LoginOut, MeOut, PasswordChangeIn, StatusOut
from interfaces.sessions import SessionVersions
from interfaces.text import Username
from interfaces.tokens import TokenSigner

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginThrottle:
    """Refuses logins after N failures in a minute for a username, or 10 times N from one address.
    Successes never count, so a whole exam hall behind one NAT address can log in at 9:00."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._failures.setdefault(key, deque())
        while hits and now - hits[0] > 60:
            hits.popleft()
        return hits

    def _limit(self, key: str) -> int:
        return self.per_minute * (10 if key.startswith("ip:") else 1)

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            if any(len(self._recent(k, now)) >= self._limit(k) for k in keys):
                raise RateLimited("too many failed logins; wait a minute and try again")

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)


@router.post("/login", response_model=LoginOut)
async def login(body: LoginIn, request: Request, response: Response, services: ServicesDep) -> LoginOut:
    throttle: LoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client else "?"
    keys = (f"ip:{client}", f"user:{body.username.lower()}")
    throttle.check(*keys)
    try:
        user = await run_in_threadpool(authenticate, services.app, body.username, body.password)
    except NotAuthenticated:
        throttle.failed(*keys)
        raise
    return _session(request, response, user)


def _session(request: Request, response: Response, user: User) -> LoginOut:
    _ended(request, user.id)  # this process may hold an older version: read it anew
    signer: TokenSigner = request.app.state.signer
    token = signer.issue(Actor(user.id, user.role, user.display_name), user.session_version)
    csrf = signer.csrf_for(token)
    max_age = int(signer.lifetime)
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="strict", path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="strict", path="/")
    return LoginOut(
        access_token=token, role=user.role, user_id=user.id, display_name=user.display_name, csrf_token=csrf
    )


def _ended(request: Request, user_id: UUID) -> None:
    """The user's session version moved: this process forgets its copy at once; the others
    read it anew within session_check_seconds."""
    sessions: SessionVersions = request.app.state.sessions
    sessions.forget(user_id)


@router.post("/logout", status_code=204)
async def logout(request: Request, services: ServicesDep, commands: CommandsDep) -> Response:
    """Ends every session of the caller (all devices), on every server process. A cookie caller
    must send the CSRF header like on any write, else only the cookies are cleared: another
    site cannot end your sessions."""
    try:
        actor = actor_from(request, request.app.state.signer)
    except (NotAuthenticated, PermissionDenied):
        actor = None  # ended already, never valid, or not proven: just clear the cookies
    if actor is not None:
        await commands.run(users.revoke_sessions, services.app, actor)
        _ended(request, actor.user_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/password", response_model=LoginOut)
async def change_password(
    body: PasswordChangeIn,
    request: Request,
    response: Response,
    actor: ActorDep,
    services: ServicesDep,
) -> LoginOut:
    """Changes the caller's password; every other session ends, this one gets a new token."""
    await run_in_threadpool(
        users.change_password, services.app, actor, body.current_password, body.new_password
    )
    _ended(request, actor.user_id)
    return _session(request, response, users.get_user(services.app, actor.user_id))


@router.put("/users/{username}/disabled", response_model=StatusOut)
async def set_disabled(
    username: Username, body: DisabledIn, request: Request, actor: ActorDep, services: ServicesDep
) -> StatusOut:
    """Admin: disable an account (its sessions end at once) or enable it again."""
    require_role(actor, *ADMINS)
    user = await run_in_threadpool(users.set_disabled, services.app, username, body.disabled)
    _ended(request, user.id)
    return StatusOut(status="disabled" if user.disabled else "enabled")


@router.get("/me", response_model=MeOut)
def me(actor: ActorDep) -> MeOut:
    return MeOut(user_id=actor.user_id, role=actor.role, display_name=actor.display_name)
