"""HTTP for the benchmarks: a minimal keep-alive client (less client CPU than httpx), and the
setup calls made before timing (login, exam creation), all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from typing import Any

from _common import HOST, PASSWORD


# -- a minimal HTTP/1.1 keep-alive client (less client CPU than httpx) ---------------------------
class RawConnection:
    """One keep-alive connection; responses must carry Content-Length (uvicorn's JSON ones do)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self._connect()
        assert self.reader is not None and self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length, close = 0, False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise RuntimeError("chunked responses are not supported by RawConnection")
        data = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class HttpxConnection:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        r = await self.client.request(method, path, headers=headers, content=body or None)
        return r.status_code, r.content

    async def close(self) -> None:
        pass


def json_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _json_call(req: urllib.request.Request, token: str | None, timeout: float) -> tuple[int, Any]:
    """Setup calls (outside timing): urllib, no proxies, bounded timeout."""
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def sync_post_json(
    base_url: str, path: str, body: Any, token: str | None = None, timeout: float = 30
) -> tuple[int, Any]:
    req = urllib.request.Request(base_url + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    return _json_call(req, token, timeout)


def sync_get_json(base_url: str, path: str, token: str, timeout: float = 30) -> tuple[int, Any]:
    return _json_call(urllib.request.Request(base_url + path, method="GET"), token, timeout)


def login(base_url: str, username: str) -> str:
    status, body = sync_post_json(base_url, "/api/auth/login", {"username": username, "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"login {username} -> {status}: {body}")
    return str(body["accessToken"])


def create_exam(
    base_url: str, admin_token: str, title: str, duration: int = 3600, proctoring: bool = True
) -> str:
    body = {
        "title": title,
        "durationSeconds": duration,
        "proctoringEnabled": proctoring,
        "questions": [
            {"id": "q1", "text": "2+2?", "choices": ["3", "4"], "answer": 1},
            {"id": "q2", "text": "Capital of France?", "choices": ["Paris", "Rome"], "answer": 0},
        ],
    }
    status, out = sync_post_json(base_url, "/api/exams", body, admin_token)
    if status != 201:
        raise RuntimeError(f"create exam -> {status}: {out}")
    return str(out["id"])


def wait_exam_visible(base_url: str, token: str, exam_id: str, timeout: float = 60) -> None:
    """The exam list is read from the Proctor Center view: once the exam shows, the projection
    has caught up with everything recorded before it (e.g. pre-created users)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, rows = sync_get_json(base_url, "/api/exams", token)
        if status == 200 and any(r.get("id") == exam_id for r in rows):
            return
        time.sleep(0.05)
    raise RuntimeError(f"exam {exam_id} not visible in the read model after {timeout:.0f}s")
