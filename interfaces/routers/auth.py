from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from application.access import Actor
from domain.errors import RateLimited
from interfaces.deps import CSRF_COOKIE, SESSION_COOKIE, ActorDep, ServicesDep, get_signer
from interfaces.schemas import LoginIn, LoginOut, MeOut

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginThrottle:
    """At most N login attempts a minute per client address and per username."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                hits = self._hits.setdefault(key, deque())
                while hits and now - hits[0] > 60:
                    hits.popleft()
                if len(hits) >= self.per_minute:
                    raise RateLimited("too many login attempts; wait a minute and try again")
                hits.append(now)


@router.post("/login", response_model=LoginOut)
async def login(body: LoginIn, request: Request, response: Response, services: ServicesDep) -> LoginOut:
    throttle: LoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client else "?"
    throttle.check(f"ip:{client}", f"user:{body.username.lower()}")
    user = await run_in_threadpool(services.app.authenticate, body.username, body.password)
    signer = get_signer(request)
    token = signer.issue(Actor(user.id, user.role, user.display_name))
    csrf = signer.csrf_for(token)
    max_age = int(signer.lifetime)
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="strict", path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="strict", path="/")
    return LoginOut(
        access_token=token, role=user.role, user_id=user.id, display_name=user.display_name, csrf_token=csrf
    )


@router.post("/logout", status_code=204)
def logout(response: Response) -> Response:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=MeOut)
def me(actor: ActorDep) -> MeOut:
    return MeOut(user_id=actor.user_id, role=actor.role, display_name=actor.display_name)
