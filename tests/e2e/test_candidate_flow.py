"""Candidate pages in a real Chromium: login, exams list, the exam page with proctoring.

Run (loopback-only network namespace):
    unshare -n sh -c 'ip link set lo up && python -m pytest tests/e2e/test_candidate_flow.py -q'
Set E2E_ARTIFACTS_DIR to keep screenshots of the exam page.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from e2e_conftest import DEFAULT_TIMEOUT_MS, LiveServer, login, new_context

pytestmark = pytest.mark.browser

DEMO_EXAM = "Proctoring basics (demo)"
ATTEMPT_URL = re.compile(r"/exam/([0-9a-f-]{36})$")


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(*args, **kwargs)


# -- helpers -----------------------------------------------------------------------------------
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


# -- (a) the happy path ------------------------------------------------------------------------
def test_candidate_answers_submits_and_sees_score(browser: Any, live_server: LiveServer) -> None:
    context = new_context(browser)
    try:
        page = login(context, live_server, "candidate")
        expect(page).to_have_url(re.compile(r"/exams$"))
        attempt_id = start_exam(page, live_server, DEMO_EXAM)

        expect(page.get_by_role("heading", name=DEMO_EXAM)).to_be_visible()
        expect(page.get_by_test_id("timer")).to_have_text(re.compile(r"^1[45]:\d\d$"))
        for question, answer in (("q1", "409"), ("q2", "Server-Sent Events"), ("q3", "Matroska/WebM")):
            block = page.locator(f"[data-testid=question][data-question-id={question}]")
            block.get_by_label(answer).check()
            expect(block.get_by_test_id("save-status")).to_have_text("Saved ✓")
        expect(page.locator("#answered")).to_have_text("3 of 3 answered")
        expect(page.locator("#camera-status")).to_have_text("Camera on")
        screenshot(page, "exam-page")

        page.get_by_role("button", name="Submit exam").click()
        page.get_by_role("button", name="Yes, submit now").click()
        outcome = page.get_by_test_id("exam-ended")
        expect(outcome).to_be_visible()
        expect(outcome.get_by_role("heading")).to_have_text("Exam submitted")
        expect(page.get_by_test_id("score")).to_have_text("Your score: 3 / 3 (passed)")
        expect(page.get_by_test_id("timer")).to_have_text("Ended")
        expect(page.get_by_label("409")).to_be_disabled()
        # The camera is released when the exam ends.
        assert page.evaluate("window.smartExamProctoring.state") == "stopped"
        assert page.evaluate("window.smartExamProctoring.stream") is None
        screenshot(page, "exam-submitted")

        status, attempt = live_server.api(
            "GET", f"/api/attempts/{attempt_id}", token=live_server.token("admin")
        )
        assert status == 200 and attempt["status"] == "Submitted" and attempt["score"] == 3

        # A reload shows the result, not the questions again.
        page.reload()
        expect(page.get_by_test_id("score")).to_have_text("Your score: 3 / 3 (passed)")
    finally:
        context.close()


# -- (b) camera denied --------------------------------------------------------------------------
def test_camera_denied_exam_goes_on(browser_no_fake_ui: Any, live_server: LiveServer) -> None:
    title = create_exam(live_server)
    context = new_context(browser_no_fake_ui)
    try:
        page = login(context, live_server, "candidate")
        sent: list[Any] = []
        page.on("request", lambda req: sent.append(req))
        attempt_id = start_exam(page, live_server, title)

        denied = page.get_by_test_id("camera-denied")
        expect(denied).to_be_visible(timeout=10_000)
        expect(denied).to_contain_text("Camera access is blocked")
        expect(denied.get_by_role("button", name="Retry camera")).to_be_visible()
        assert wait_until(lambda: proctor_events(sent, "camera_denied"), 5), "camera_denied was not reported"

        # The exam goes on without the camera.
        block = page.locator("[data-testid=question][data-question-id=a]")
        block.get_by_label("4", exact=True).check()
        expect(block.get_by_test_id("save-status")).to_have_text("Saved ✓")

        # Still denied: the message stays, and the denial is reported only once.
        denied.get_by_role("button", name="Retry camera").click()
        expect(denied).to_be_visible()
        expect(denied.get_by_role("button", name="Retry camera")).to_be_enabled()
        assert len(proctor_events(sent, "camera_denied")) == 1
        screenshot(page, "exam-camera-denied")

        # The candidate allows the camera: Retry brings it back and reports camera_restored.
        context.grant_permissions(["camera"], origin=live_server.url)
        denied.get_by_role("button", name="Retry camera").click()
        expect(denied).to_be_hidden(timeout=10_000)
        expect(page.locator("#camera-status")).to_have_text("Camera on")
        assert wait_until(lambda: proctor_events(sent, "camera_restored"), 5), (
            "camera_restored was not reported"
        )
        kinds = wait_until(
            lambda: (k := timeline_kinds(live_server, attempt_id)) and "camera_restored" in k and k, 5
        )
        assert kinds and kinds.index("camera_denied") < kinds.index("camera_restored"), kinds
    finally:
        context.close()


# -- (c) first snapshot -------------------------------------------------------------------------
def test_first_snapshot_uploaded_within_10_seconds(browser: Any, live_server: LiveServer) -> None:
    title = create_exam(live_server)
    context = new_context(browser)
    try:
        page = login(context, live_server, "candidate")
        t0 = time.monotonic()
        attempt_id = start_exam(page, live_server, title)

        def counted() -> int:
            row = session_row(live_server, attempt_id)
            return int(row["snapshotCount"]) if row else 0

        count = wait_until(counted, 10 - (time.monotonic() - t0))
        elapsed = time.monotonic() - t0
        assert count >= 1, f"no snapshot reached the server within 10 s (count {count})"
        print(f"first snapshot counted by the server {elapsed:.1f} s after Start")
        expect(page.get_by_test_id("snapshots-sent")).not_to_have_text("0")
        expect(page.get_by_test_id("upload-warning")).to_be_hidden()
    finally:
        context.close()


# -- (d) upload failure ---------------------------------------------------------------------------
def test_snapshot_upload_failure_shows_warning_and_never_fakes_success(
    browser: Any, live_server: LiveServer
) -> None:
    from PIL import Image

    title = create_exam(live_server)
    context = new_context(browser)
    try:
        page = login(context, live_server, "candidate")
        uploads: list[dict[str, Any]] = []
        mode = {"reply": 503}

        def snapshot_route(route: Any) -> None:
            req = route.request
            uploads.append({"at": time.monotonic(), "headers": req.headers, "body": req.post_data_buffer})
            if mode["reply"] == 503:
                route.fulfill(status=503, content_type="application/json",
                              body='{"error": "Unavailable", "detail": "injected outage"}')  # fmt: skip
            else:  # client-side recovery check: a well-formed 201 reply
                route.fulfill(status=201, content_type="application/json", body=json.dumps({
                    "snapshotId": str(uuid.uuid4()), "url": "/x.jpg", "takenAt": "2030-01-01T00:00:00Z",
                }))  # fmt: skip

        page.route("**/api/Proctor/snapshot/**", snapshot_route)
        sent: list[Any] = []
        page.on("request", lambda req: sent.append(req))
        attempt_id = start_exam(page, live_server, title)

        warning = page.get_by_test_id("upload-warning")
        expect(warning).to_be_visible(timeout=20_000)
        expect(warning).to_contain_text("503")
        screenshot(page, "exam-upload-warning")
        # One try and two retries, about 1 s and 2 s apart.
        assert len(uploads) == 3, f"expected 3 tries before the warning, saw {len(uploads)}"
        gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(uploads)]
        assert 0.7 < gaps[0] < 2.5 and 1.5 < gaps[1] < 4.0, gaps
        # What was sent is a real 640x480 JPEG with the CSRF header.
        first = uploads[0]
        assert first["headers"]["content-type"] == "image/jpeg"
        assert first["headers"].get("x-csrf-token")
        assert first["body"][:3] == b"\xff\xd8\xff"
        assert Image.open(io.BytesIO(first["body"])).size == (640, 480)

        # No fake success anywhere: not on the page, not on the server.
        expect(page.get_by_test_id("snapshots-sent")).to_have_text("0")
        expect(page.locator("#last-snapshot")).to_have_text("")
        assert wait_until(lambda: proctor_events(sent, "snapshot_upload_failed"), 5)
        row = session_row(live_server, attempt_id)
        assert row is not None and row["snapshotCount"] == 0
        assert wait_until(lambda: "snapshot_upload_failed" in timeline_kinds(live_server, attempt_id), 5)

        # A later success clears the banner (the interval is 5 s here).
        mode["reply"] = 201
        expect(warning).to_be_hidden(timeout=15_000)
        expect(page.get_by_test_id("snapshots-sent")).to_have_text("1")
    finally:
        context.close()


# -- (e) force-end reaches the candidate ----------------------------------------------------------
def test_force_end_shows_ended_state_and_stops_camera(browser: Any, live_server: LiveServer) -> None:
    title = create_exam(live_server)
    context = new_context(browser)
    try:
        page = login(context, live_server, "candidate")
        attempt_id = start_exam(page, live_server, title)
        expect(page.locator("#camera-status")).to_have_text("Camera on")

        status, body = live_server.api(
            "POST", f"/api/attempt-control/{attempt_id}/force-end",
            {"reason": "second person in view"}, live_server.token("proctor"),
        )  # fmt: skip
        assert status == 200, f"force-end -> {status} {body}"

        outcome = page.get_by_test_id("exam-ended")
        expect(outcome).to_be_visible(timeout=15_000)
        expect(outcome.get_by_role("heading")).to_have_text("This exam has ended")
        expect(outcome).to_contain_text("second person in view")
        expect(page.get_by_label("4", exact=True)).to_be_disabled()
        expect(page.locator("#camera-status")).to_have_text("Camera stopped")
        assert page.evaluate("window.smartExamProctoring.stream") is None
    finally:
        context.close()


# -- (f) login page ---------------------------------------------------------------------------------
def test_login_errors_and_role_redirects(browser: Any, live_server: LiveServer) -> None:
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/exams")
        expect(page).to_have_url(re.compile(r"/login\?next=/exams$"))
        page.get_by_label("Username").fill("candidate")
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Log in").click()
        error = page.get_by_role("alert")
        expect(error).to_have_text("Wrong username or password.")
        expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")

        login(page, live_server, "admin")
        expect(page).to_have_url(re.compile(r"/proctor-center$"))
        page.goto(f"{live_server.url}/exams")
        card = page.get_by_test_id("exam-card").filter(has_text=DEMO_EXAM)
        expect(card).to_be_visible()
        expect(card.get_by_role("button", name="Start")).to_have_count(0)
    finally:
        context.close()


# -- (g) a proctor's warning ------------------------------------------------------------------------
def test_proctor_warning_shows_overlay(browser: Any, live_server: LiveServer) -> None:
    title = create_exam(live_server)
    context = new_context(browser)
    try:
        page = login(context, live_server, "candidate")
        attempt_id = start_exam(page, live_server, title)
        proctor = live_server.token("proctor")

        def warn(message: str) -> None:
            status, body = live_server.api(
                "POST", f"/api/Proctor/sessions/{attempt_id}/warn", {"message": message}, proctor
            )
            assert status == 200, f"warn -> {status} {body}"

        # A warning sent before the page loaded is not replayed as a new one.
        warn("old warning")
        page.reload()
        expect(page.get_by_test_id("question").first).to_be_visible()
        page.wait_for_timeout(1500)
        expect(page.get_by_test_id("warn-overlay")).to_have_count(0)

        warn("Please keep your face in view.")
        overlay = page.get_by_test_id("warn-overlay")
        expect(overlay).to_be_visible(timeout=10_000)
        expect(overlay).to_contain_text("Please keep your face in view.")
        understood = overlay.get_by_role("button", name="I understand")
        expect(understood).to_be_focused()
        screenshot(page, "exam-warn-overlay")
        page.keyboard.press("Tab")
        expect(understood).to_be_focused()  # focus stays in the dialog
        understood.click()
        expect(overlay).to_have_count(0)
        # The exam goes on after the warning.
        block = page.locator("[data-testid=question][data-question-id=b]")
        block.get_by_label("Paris").check()
        expect(block.get_by_test_id("save-status")).to_have_text("Saved ✓")
    finally:
        context.close()


# -- (h) time runs out ------------------------------------------------------------------------------
def test_countdown_reaching_zero_ends_the_exam(browser: Any, live_server: LiveServer) -> None:
    """A 10 s exam without proctoring: no camera panel; at 0 the page submits by itself (or the
    server's expiry sweep wins the race) and the ended state shows the outcome."""
    title = create_exam(live_server, proctored=False, duration=10)
    context = new_context(browser)
    try:
        page = login(context, live_server, "candidate")
        attempt_id = start_exam(page, live_server, title)
        expect(page.locator("#proctor-panel")).to_be_hidden()
        page.locator("[data-testid=question][data-question-id=a]").get_by_label("4", exact=True).check()
        expect(page.get_by_test_id("save-status").first).to_have_text("Saved ✓")

        outcome = page.get_by_test_id("exam-ended")
        expect(outcome).to_be_visible(timeout=20_000)
        expect(page.get_by_test_id("score")).to_contain_text("1 / 2")
        status, attempt = live_server.api(
            "GET", f"/api/attempts/{attempt_id}", token=live_server.token("admin")
        )
        assert status == 200 and attempt["status"] in ("Submitted", "Expired"), attempt
        heading = "Exam submitted" if attempt["status"] == "Submitted" else "This exam has ended"
        expect(outcome.get_by_role("heading")).to_have_text(heading)
    finally:
        context.close()
