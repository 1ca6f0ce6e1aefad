from __future__ import annotations

import asyncio
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from application import users
from application.access import ADMINS, Actor, require_role
from application.users import authenticate
from domain import ids
from domain.errors import NotAuthenticated, PermissionDenied, RateLimited
from domain.users import User
from interfaces.deps import CSRF_COOKIE, SESSION_COOKIE, ActorDep, CommandsDep, ServicesDep, actor_from
from interfaces.forwarded import client_address, is_https
from interfaces.schemas import DisabledIn, LoginIn, LoginOut, MeOut, PasswordChangeIn, StatusOut
from interfaces.sessions import SessionVersions
from interfaces.text import Username
from interfaces.throttle import LoginThrottle
from interfaces.tokens import TokenSigner

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", response_model=LoginOut)
async def login(body: LoginIn, request: Request, response: Response, services: ServicesDep) -> LoginOut:
    throttle: LoginThrottle = request.app.state.login_throttle
    address = client_address(request, services.settings.trusted_proxies)
    account = str(ids.user_id(body.username))  # normalised exactly as the lookup is
    throttle.check_account(account, address)
    try:
        user = await run_in_threadpool(authenticate, services.app, body.username, body.password)
    except NotAuthenticated:
        delay = throttle.failed(account, address)
        if delay:
            await asyncio.sleep(delay)
            raise RateLimited("too many failed logins from this address; wait and try again", 60) from None
        raise
    response.headers["Cache-Control"] = "no-store"
    return _session(request, response, user)


def _session(request: Request, response: Response, user: User) -> LoginOut:
    _ended(request, user.id)  # this process may hold an older version: read it anew
    signer: TokenSigner = request.app.state.signer
    token = signer.issue(Actor(user.id, user.role, user.display_name), user.session_version)
    csrf = signer.csrf_for(token)
    max_age = int(signer.lifetime)
    secure = is_https(request, request.app.state.services.settings.trusted_proxies)  # Secure behind TLS
    for name, value, httponly in ((SESSION_COOKIE, token, True), (CSRF_COOKIE, csrf, False)):
        response.set_cookie(
            name, value, max_age=max_age, httponly=httponly, samesite="strict", path="/", secure=secure
        )
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
def me(actor: ActorDep, response: Response) -> MeOut:
    response.headers["Cache-Control"] = "no-store"
    return MeOut(user_id=actor.user_id, role=actor.role, display_name=actor.display_name)
