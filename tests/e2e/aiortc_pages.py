"""Shared by the aiortc live-video tests (test_aiortc_*.py): an attempt started through the API,
force-ended afterwards, and an aiortc loop thread for tests that also drive Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

from e2e_conftest import LiveServer

T = TypeVar("T")
EXAM = {
    "durationSeconds": 1800,
    "proctoringEnabled": True,
    "questions": [{"id": "q1", "text": "Two plus two?", "choices": ["3", "4"], "answer": 1}],
}


def start_attempt(server: LiveServer, candidate: str = "candidate") -> str:
    """A fresh proctored exam (as the admin) and the candidate's attempt of it, through the API."""
    status, exam = server.api("POST", "/api/exams", {"title": f"aiortc {uuid.uuid4().hex[:8]}", **EXAM},
                              token=server.token("admin"))  # fmt: skip
    assert status == 201, (status, exam)
    status, attempt = server.api("POST", f"/api/exams/{exam['id']}/attempts", token=server.token(candidate))
    assert status in (200, 201), (status, attempt)
    return str(attempt["attemptId"])


def force_end(server: LiveServer, attempt_id: str) -> None:
    with contextlib.suppress(Exception):  # cleanup: a server that is down already is fine
        server.force_end(attempt_id)


@contextlib.contextmanager
def attempt_of(server: LiveServer, candidate: str = "candidate") -> Iterator[str]:
    attempt_id = start_attempt(server, candidate)
    try:
        yield attempt_id
    finally:
        force_end(server, attempt_id)


class LoopThread:
    """An asyncio loop in a daemon thread: `run(coro, timeout)` from synchronous code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="aiortc-loop", daemon=True)
        self._thread.start()

    def run(self, awaitable: Awaitable[T], timeout: float = 30.0) -> T:
        async def wrapped() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@contextlib.contextmanager
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    try:
        yield loop
    finally:
        loop.stop()


def close_all(loop: LoopThread, *peers: Any) -> None:
    for peer in peers:
        with contextlib.suppress(Exception):
            loop.run(peer.close(), timeout=10)


def run_async(awaitable: Any, timeout: float) -> Any:
    """Runs a coroutine on a loop of its own thread: Playwright's sync API keeps an event loop
    running in the main thread once a browser test ran, so asyncio.run() would be refused there."""
    with loop_thread() as loop:
        return loop.run(asyncio.wait_for(awaitable, timeout), timeout + 5)
