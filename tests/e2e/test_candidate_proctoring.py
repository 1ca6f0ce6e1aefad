"""The candidate's proctoring in a real Chromium (fake camera): camera denied and restored, the
first snapshot, upload failures with retries and the warning banner, and a force-end stopping
the camera.

Run (loopback-only network namespace):
    unshare -n sh -c 'ip link set lo up && python -m pytest tests/e2e/test_candidate_proctoring.py -q'
Set E2E_ARTIFACTS_DIR to keep screenshots of the exam page.
"""

from __future__ import annotations

import io
import itertools
import json
import time
import uuid
from typing import Any

import pytest
from candidate_pages import (
    create_exam,
    expect,
    proctor_events,
    screenshot,
    session_row,
    start_exam,
    timeline_kinds,
    wait_until,
)
from e2e_conftest import LiveServer, login, new_context

pytestmark = pytest.mark.browser


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
