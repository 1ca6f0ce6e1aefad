"""SSE over real HTTP (uvicorn): snapshot then changes, resume with Last-Event-ID after a forced
disconnect (nothing lost, nothing repeated), and a stalled client that cannot delay others."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from helpers import wait_until

from application.config import AppSettings
from interfaces.app_factory import create_app
from tests.api.conftest import PASSWORD, QUESTIONS, build_with_users


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, tmp: Path) -> None:
        settings = AppSettings(
            data_dir=tmp, sse_client_queue=8, expiry_sweep_seconds=3600, projection_process=False
        )
        self.app = create_app(settings, build=build_with_users)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def token(self, username: str) -> dict[str, str]:
        r = httpx.post(f"{self.url}/api/auth/login", json={"username": username, "password": PASSWORD})
        return {"Authorization": f"Bearer {r.json()['accessToken']}"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path)
    s.thread.start()
    wait_until(lambda: s.server.started, timeout=10, what="uvicorn start")
    yield s
    s.server.should_exit = True
    s.thread.join(10)


def sse_events(response: httpx.Response) -> Iterator[dict[str, str]]:
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in event:
                yield event
            event = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            event[key] = value.lstrip(" ")


def _setup(s: Served) -> tuple[dict[str, str], dict[str, str], str]:
    admin, proctor = s.token("admin"), s.token("proctor")
    body = {"title": "SSE", "durationSeconds": 600, "questions": QUESTIONS}
    exam = httpx.post(f"{s.url}/api/exams", json=body, headers=admin).json()["id"]
    return admin, proctor, exam


def test_snapshot_then_changes_then_resume_without_loss_or_duplicates(served: Served) -> None:
    _, proctor, exam = _setup(served)
    stream = f"{served.url}/api/Proctor/sessions/stream"
    with httpx.Client(timeout=10) as client, client.stream("GET", stream, headers=proctor) as r:
        events = sse_events(r)
        first = next(events)
        assert first["event"] == "snapshot" and json.loads(first["data"])["sessions"] == []
        start = httpx.post(f"{served.url}/api/exams/{exam}/attempts", headers=served.token("alice")).json()
        change = next(events)
        assert change["event"] == "session" and json.loads(change["data"])["attemptId"] == start["attemptId"]
        last_id = int(change["id"])
    # disconnected: three changes happen while nobody listens
    bob = httpx.post(f"{served.url}/api/exams/{exam}/attempts", headers=served.token("bob")).json()
    httpx.post(
        f"{served.url}/api/Proctor/sessions/{start['attemptId']}/flag",
        json={"note": "a"},
        headers=proctor,
    )
    httpx.post(
        f"{served.url}/api/Proctor/sessions/{bob['attemptId']}/warn",
        json={"message": "b"},
        headers=proctor,
    )
    wait_until(
        lambda: served.app.state.services.center.max_position(),
        lambda p: p >= last_id + 3,
        what="projected",
    )
    resumed = {**proctor, "Last-Event-ID": str(last_id)}
    seen: list[tuple[int, str]] = []
    with httpx.Client(timeout=10) as client, client.stream("GET", stream, headers=resumed) as r:
        for event in sse_events(r):
            assert event["event"] == "session"
            seen.append((int(event["id"]), json.loads(event["data"])["attemptId"]))
            if len(seen) == 2:
                break
    ids = [i for i, _ in seen]
    assert all(i > last_id for i in ids) and ids == sorted(set(ids))
    assert {a for _, a in seen} == {start["attemptId"], bob["attemptId"]}


def test_stalled_client_is_dropped_and_does_not_delay_others(served: Served) -> None:
    _, proctor, exam = _setup(served)
    attempt = httpx.post(f"{served.url}/api/exams/{exam}/attempts", headers=served.token("alice")).json()[
        "attemptId"
    ]
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", served.port))
    auth = proctor["Authorization"]
    stalled.sendall(
        f"GET /api/Proctor/sessions/stream HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n".encode()
    )
    feed = served.app.state.feed
    wait_until(lambda: len(feed.clients), lambda n: n == 1, what="stalled client subscribed")
    latencies: list[float] = []
    with (
        httpx.Client(timeout=10) as client,
        client.stream("GET", f"{served.url}/api/Proctor/sessions/stream", headers=proctor) as r,
    ):
        events = sse_events(r)
        next(events)  # snapshot
        for n in range(120):  # bounded: enough to overflow the stalled client's socket and queue
            sent = time.monotonic()
            httpx.post(
                f"{served.url}/api/Proctor/sessions/{attempt}/flag",
                json={"note": str(n)},
                headers=proctor,
            )
            while json.loads(next(events)["data"])["flagCount"] < n + 1:
                pass
            latencies.append(time.monotonic() - sent)
    assert max(latencies) < 2.0, max(latencies)
    stalled.close()
    wait_until(lambda: len(feed.clients), lambda n: n == 0, timeout=15, what="stalled client cleaned up")


def test_feed_drops_a_client_whose_queue_is_full_and_keeps_serving_others(served: Served) -> None:
    """Loopback socket buffers grow to megabytes, so overflow is driven at the feed itself."""
    feed = served.app.state.feed
    loop = feed._loop
    row = {"attempt_id": "a", "session_id": "s", "position": 0}

    async def scenario() -> tuple[bool, int, bool]:
        from adapters.runtime.live_feed import Change

        stalled = feed.subscribe(lambda r: True)
        healthy = feed.subscribe(lambda r: True)
        for position in range(1, feed.queue_size + 2):
            feed._fan_out([Change(position, {**row, "position": position}, {})])
            await healthy.queue.get()  # the healthy client keeps reading
        ended = stalled.queue.get_nowait() is None
        feed.unsubscribe(healthy)
        return stalled.dropped, len(feed.clients), ended

    import asyncio

    dropped, remaining, ended = asyncio.run_coroutine_threadsafe(scenario(), loop).result(10)
    assert dropped and ended and remaining == 0
