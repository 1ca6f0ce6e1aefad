from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from application.access import Actor
from application.users import authenticate
from domain.errors import NotAuthenticated, RateLimited
from interfaces.deps import CSRF_COOKIE, SESSION_COOKIE, ActorDep, ServicesDep
from interfaces.schemas import LoginIn, LoginOut, MeOut
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
    signer: TokenSigner = request.app.state.signer
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
