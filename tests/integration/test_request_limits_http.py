"""Class 7 of issue 12 over real HTTP (uvicorn on 127.0.0.1, with `smart-exam serve`'s options):
a JSON route refuses a big body before reading it, a huge header is refused, and a body that
stops arriving ends the request instead of holding the connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from helpers import wait_until

from application.config import AppSettings
from interfaces.app_factory import create_app
from interfaces.cli import server_options
from tests.api.conftest import PASSWORD, build_with_users


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    settings = AppSettings(
        data_dir=tmp_path, expiry_sweep_seconds=3600, projection_process=False, body_idle_timeout_seconds=0.5
    )
    app = create_app(settings, build=build_with_users)
    options = {**server_options(settings), "log_level": "warning"}
    config = uvicorn.Config(app, host="127.0.0.1", port=_free_port(), lifespan="on", **options)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    wait_until(lambda: running.started, what="uvicorn started")
    try:
        yield f"http://127.0.0.1:{config.port}", config.port
    finally:
        running.should_exit = True
        thread.join(10)


def _exchange(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b"}" in chunks[-1]:
                break
        return b"".join(chunks)


def test_a_big_json_body_is_refused_before_it_is_read(server: tuple[str, int]) -> None:
    _, port = server
    head = (
        b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 67108864\r\n\r\n"
    )
    answer = _exchange(port, head + b'{"username": "')  # 64 MB declared, a few bytes sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"error":"PayloadTooLarge"' in answer


def test_a_chunked_json_body_is_cut_at_the_cap(server: tuple[str, int]) -> None:
    base, _ = server

    def pieces() -> Iterator[bytes]:
        yield b'{"username": "'
        for _ in range(100):
            yield b"a" * 4096

    with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
        r = client.post("/api/auth/login", content=pieces(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "PayloadTooLarge"


def test_a_huge_header_is_refused(server: tuple[str, int]) -> None:
    _, port = server
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
    answer = _exchange(port, request)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:200]


def test_a_body_that_stops_arriving_ends_the_request(server: tuple[str, int]) -> None:
    _, port = server
    head = (
        b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    answer = _exchange(port, head + b'{"username": "alice", ', timeout=10)  # 22 of 100 bytes
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"error":"RequestTimeout"' in answer


def test_ordinary_requests_still_work(server: tuple[str, int]) -> None:
    base, _ = server
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
        r = client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
        assert r.status_code == 200
