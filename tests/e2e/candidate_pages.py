"""Helpers for the candidate pages' browser tests (test_candidate_*.py)."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

from e2e_conftest import DEFAULT_TIMEOUT_MS, LiveServer

DEMO_EXAM = "Proctoring basics (demo)"
ATTEMPT_URL = re.compile(r"/exam/([0-9a-f-]{36})$")


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(*args, **kwargs)


def create_exam(live_server: LiveServer, *, proctored: bool = True, duration: int = 600) -> str:
    """A fresh exam (one attempt per candidate and exam), created by the demo admin."""
    title = f"E2E exam {uuid.uuid4().hex[:8]}"
    body = {
        "title": title,
        "durationSeconds": duration,
        "proctoringEnabled": proctored,
        "passMark": 1,
        "questions": [
            {"id": "a", "text": "2 + 2 = ?", "choices": ["3", "4", "5"], "answer": 1},
            {"id": "b", "text": "Capital of France?", "choices": ["Paris", "Rome"], "answer": 0},
        ],
    }
    status, out = live_server.api("POST", "/api/exams", body, live_server.token("admin"))
    assert status == 201, f"POST /api/exams -> {status} {out}"
    return title


def start_exam(page: Any, live_server: LiveServer, title: str) -> str:
    """From /exams, press Start on the exam's card; returns the attempt id."""
    if not page.url.endswith("/exams"):
        page.goto(f"{live_server.url}/exams")
    card = page.get_by_test_id("exam-card").filter(has_text=title)
    card.get_by_role("button", name="Start").click()
    expect(page).to_have_url(ATTEMPT_URL, timeout=DEFAULT_TIMEOUT_MS)
    match = ATTEMPT_URL.search(page.url)
    assert match
    expect(page.get_by_test_id("question").first).to_be_visible(timeout=DEFAULT_TIMEOUT_MS)
    return match.group(1)


def session_row(live_server: LiveServer, attempt_id: str) -> dict[str, Any] | None:
    status, rows = live_server.api("GET", "/api/Proctor/sessions", token=live_server.token("proctor"))
    assert status == 200, f"GET /api/Proctor/sessions -> {status} {rows}"
    return next((r for r in rows if r["attemptId"] == attempt_id), None)


def proctor_events(requests: list[Any], type_: str) -> list[dict[str, Any]]:
    out = []
    for req in requests:
        if req.method == "POST" and "/api/Proctor/event/" in req.url:
            body = json.loads(req.post_data or "{}")
            if body.get("type") == type_:
                out.append(body)
    return out


def timeline_kinds(live_server: LiveServer, attempt_id: str) -> list[str]:
    status, items = live_server.api(
        "GET", f"/api/Proctor/timeline/{attempt_id}", token=live_server.token("proctor")
    )
    assert status == 200, f"GET /api/Proctor/timeline -> {status} {items}"
    return [item["kind"] for item in items]


def wait_until(predicate: Any, timeout: float, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def screenshot(page: Any, name: str) -> None:
    target = os.environ.get("E2E_ARTIFACTS_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)
