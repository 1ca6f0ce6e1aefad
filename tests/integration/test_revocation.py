"""Class 3 of issue 12: logout, a password change and disabling a user end sessions on every
server process (two apps on one store stand for two processes), SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from helpers import wait_until

from adapters.passwords import Argon2Hasher
from adapters.runtime.bootstrap import bootstrap
from adapters.runtime.services import Services
from application.config import AppSettings
from application.users import register_user
from domain.errors import Conflict
from interfaces.app_factory import create_app
from interfaces.deps import CSRF_HEADER, SESSION_COOKIE

PASSWORD = "password-123"
CHECK = 0.5  # session_check_seconds: how long the other process may still accept a revoked token


def _build(settings: AppSettings) -> Services:
    services = bootstrap(settings, hasher=Argon2Hasher(time_cost=1, memory_cost=8192))
    for name, role in [("admin", "admin"), ("alice", "candidate")]:
        with contextlib.suppress(Conflict):  # the second process finds them registered
            register_user(services.app, name, PASSWORD, role, name.title())
    return services


@pytest.fixture
def two(settings_factory: Callable[..., AppSettings]) -> Iterator[tuple[TestClient, TestClient]]:
    first = create_app(settings_factory(session_check_seconds=CHECK), build=_build)
    second = create_app(settings_factory(session_check_seconds=CHECK, run_projections=False), build=_build)
    with TestClient(first) as a, TestClient(second) as b:
        yield a, b


def _login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["accessToken"])


def _me(client: TestClient, token: str) -> int:
    return client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _refused_everywhere(a: TestClient, b: TestClient, token: str) -> None:
    assert _me(a, token) == 401 or _me(b, token) == 401
    wait_until(lambda: (_me(a, token), _me(b, token)), lambda s: s == (401, 401), timeout=CHECK * 6)


def test_logout_ends_the_session_on_every_process(two: tuple[TestClient, TestClient]) -> None:
    a, b = two
    token = _login(a, "alice")
    other_device = _login(b, "alice")
    assert (_me(a, token), _me(b, token)) == (200, 200)
    r = a.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
    assert _me(a, token) == 401  # the process that logged out: at once
    _refused_everywhere(a, b, token)
    _refused_everywhere(a, b, other_device)  # logout ends every session of that user
    a.cookies.clear()
    cookie = {"Cookie": f"{SESSION_COOKIE}={token}"}
    assert a.get("/api/auth/me", headers=cookie).status_code == 401
    assert _me(b, _login(b, "alice")) == 200  # logging in again works


def test_cookie_logout_needs_the_csrf_header(two: tuple[TestClient, TestClient]) -> None:
    a, _ = two
    r = a.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    token, csrf = r.json()["accessToken"], r.json()["csrfToken"]
    a.cookies.clear()
    cookie = {"Cookie": f"{SESSION_COOKIE}={token}"}
    assert a.post("/api/auth/logout", headers=cookie).status_code == 204  # as a forged cross-site POST
    assert a.get("/api/auth/me", headers=cookie).status_code == 200  # clears cookies, ends nothing
    assert a.post("/api/auth/logout", headers={**cookie, CSRF_HEADER: csrf}).status_code == 204
    assert a.get("/api/auth/me", headers=cookie).status_code == 401


def test_a_password_change_ends_the_other_sessions(two: tuple[TestClient, TestClient]) -> None:
    a, b = two
    old = _login(a, "alice")
    body = {"currentPassword": "wrong-password", "newPassword": "new-password-456"}
    r = b.post("/api/auth/password", json=body, headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401
    body["currentPassword"] = PASSWORD
    r = b.post("/api/auth/password", json=body, headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 200, r.text
    new = r.json()["accessToken"]
    _refused_everywhere(a, b, old)
    assert (_me(a, new), _me(b, new)) == (200, 200)
    assert a.post("/api/auth/login", json={"username": "alice", "password": PASSWORD}).status_code == 401
    _login(a, "alice", "new-password-456")


def test_disabling_a_user_ends_their_sessions_and_logins(two: tuple[TestClient, TestClient]) -> None:
    a, b = two
    alice, admin = _login(a, "alice"), _login(b, "admin")
    as_admin = {"Authorization": f"Bearer {admin}"}
    as_alice = {"Authorization": f"Bearer {alice}"}
    refused = a.put("/api/auth/users/alice/disabled", json={"disabled": True}, headers=as_alice)
    assert refused.status_code == 403
    r = b.put("/api/auth/users/alice/disabled", json={"disabled": True}, headers=as_admin)
    assert r.status_code == 200 and r.json()["status"] == "disabled"
    _refused_everywhere(a, b, alice)
    r = a.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 401 and "disabled" in r.json()["detail"]
    b.put("/api/auth/users/alice/disabled", json={"disabled": False}, headers=as_admin)
    assert _me(a, _login(a, "alice")) == 200
