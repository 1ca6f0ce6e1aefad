"""Class 2 of issue 12: credentials and resume positions a client makes up never cause a 500:
non-ASCII bearer tokens, cookies and CSRF headers are wrong credentials (401/403), odd
Last-Event-ID values are a 400, all in the error shape."""

from __future__ import annotations

import pytest

from interfaces.deps import CSRF_HEADER, SESSION_COOKIE, parse_last_event_id

from .conftest import Api

ODD_TEXT = ["é", "²", "\u00ff" * 40, "abc.d\u00e9f", "a" * 5000]


def _raw_header(value: str) -> bytes:
    return value.encode("utf-8")


@pytest.mark.parametrize("value", ODD_TEXT)
def test_odd_bearer_tokens_are_401(api: Api, value: str) -> None:
    r = api.client.get("/api/auth/me", headers={"Authorization": b"Bearer " + _raw_header(value)})
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "NotAuthenticated"


@pytest.mark.parametrize("value", ODD_TEXT)
def test_odd_session_cookies_are_401_and_pages_treat_them_as_anonymous(api: Api, value: str) -> None:
    cookie = {"Cookie": f"{SESSION_COOKIE}=".encode() + _raw_header(value)}
    r = api.client.get("/api/auth/me", headers=cookie)
    assert r.status_code == 401 and r.json()["error"] == "NotAuthenticated", r.text
    page = api.client.get("/exams", headers=cookie, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


@pytest.mark.parametrize("value", ODD_TEXT)
def test_odd_csrf_headers_are_403(api: Api, value: str) -> None:
    r = api.client.post("/api/auth/login", json={"username": "alice", "password": "password-123"})
    token = r.json()["accessToken"]
    headers = {"Cookie": f"{SESSION_COOKIE}={token}".encode(), CSRF_HEADER: _raw_header(value)}
    exam = api.exam()
    r = api.client.post(f"/api/exams/{exam}/attempts", headers=headers)
    assert r.status_code == 403 and r.json()["error"] == "PermissionDenied", r.text


@pytest.mark.parametrize("value", ["²", "1" * 5000, str(2**63), "-1", "1e3", " ", "0x10", "٣"])
def test_odd_last_event_ids_are_400(api: Api, value: str) -> None:
    if not value.strip():
        assert parse_last_event_id(value) is None
        return
    headers = {**api.proctor, "Last-Event-ID": _raw_header(value)}
    r = api.client.get("/api/Proctor/sessions/stream", headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "BadRequest" and "Last-Event-ID" in r.json()["detail"]


def test_the_largest_position_is_a_valid_resume_point() -> None:
    assert parse_last_event_id(str(2**63 - 1)) == 2**63 - 1
    assert parse_last_event_id("42") == 42
