"""Class 5 of issue 12 over HTTP: 429 with Retry-After, the correct password of the hall still
logs in, and X-Forwarded-For is believed only from SMART_EXAM_TRUSTED_PROXIES."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from application.config import AppSettings
from interfaces.app_factory import create_app

from .conftest import PASSWORD, build_with_users


def _client(tmp_path: Path, peer: str = "testclient", **overrides: object) -> TestClient:
    settings = AppSettings(
        data_dir=tmp_path, projection_process=False, login_attempts_per_minute=2, **overrides  # type: ignore[arg-type]
    )
    return TestClient(create_app(settings, build=build_with_users), client=(peer, 50000))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with _client(tmp_path) as c:
        yield c


def _login(c: TestClient, username: str, password: str, xff: str | None = None) -> int:
    headers = {"X-Forwarded-For": xff} if xff else {}
    r = c.post("/api/auth/login", json={"username": username, "password": password}, headers=headers)
    if r.status_code == 429:
        assert int(r.headers["Retry-After"]) >= 1 and r.json()["error"] == "RateLimited"
    return r.status_code


def test_spacing_variants_do_not_get_fresh_budgets(client: TestClient) -> None:
    codes = [_login(client, name, "wrong-password") for name in ("alice", " alice", "ALICE ", "  Alice")]
    assert 429 in codes
    assert _login(client, "alice", PASSWORD) == 429  # locked: by this account's own failures


def test_others_failures_never_deny_a_correct_password(client: TestClient) -> None:
    for n in range(25):  # over the address limit (10 x 2), on many accounts
        assert _login(client, f"student{n}", "wrong-password") in (401, 429)
    assert _login(client, "ghost", "wrong-password") == 429  # the address is slowed, told to wait
    assert _login(client, "bob", PASSWORD) == 200  # but bob's correct password works


def test_forwarded_for_is_ignored_from_untrusted_peers(client: TestClient) -> None:
    for n in range(2):
        _login(client, "alice", "wrong-password", xff=f"198.51.100.{n}")
    assert _login(client, "alice", PASSWORD, xff="198.51.100.77") == 429  # same peer, same budget


def test_forwarded_for_from_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    with _client(tmp_path, peer="10.1.2.3", trusted_proxies=["10.0.0.0/8"]) as c:
        for _ in range(2):
            _login(c, "alice", "wrong-password", xff="203.0.113.5, 10.9.9.9")
        assert _login(c, "alice", PASSWORD, xff="203.0.113.5") == 429  # that client is locked
        assert _login(c, "alice", PASSWORD, xff="198.51.100.8") == 200  # another one behind it is not
        # a client cannot hide behind a made-up hop: the rightmost untrusted one counts
        assert _login(c, "alice", PASSWORD, xff="198.51.100.8, 203.0.113.5") == 429


def test_secure_cookies_behind_a_trusted_tls_proxy(tmp_path: Path) -> None:
    with _client(tmp_path, peer="10.1.2.3", trusted_proxies=["10.0.0.0/8"]) as c:
        body = {"username": "bob", "password": PASSWORD}
        plain = c.post("/api/auth/login", json=body)
        assert "secure" not in plain.headers["set-cookie"].lower()
        tls = c.post("/api/auth/login", json=body, headers={"X-Forwarded-Proto": "https"})
        cookies = tls.headers.get_list("set-cookie")
        assert len(cookies) == 2 and all("secure" in v.lower() for v in cookies)
        assert tls.headers["cache-control"] == "no-store"
    with _client(tmp_path / "other", peer="192.0.2.1", trusted_proxies=["10.0.0.0/8"]) as c:
        spoofed = c.post("/api/auth/login", json=body, headers={"X-Forwarded-Proto": "https"})
        assert "secure" not in spoofed.headers["set-cookie"].lower()  # not from a trusted proxy
