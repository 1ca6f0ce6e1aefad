"""Candidate pages in a real Chromium: login, exams list, answering, submitting, a proctor's
warning and the countdown reaching zero (the proctoring side: test_candidate_proctoring.py).

Run (loopback-only network namespace):
    unshare -n sh -c 'ip link set lo up && python -m pytest tests/e2e/test_candidate_exam.py -q'
Set E2E_ARTIFACTS_DIR to keep screenshots of the exam page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from candidate_pages import DEMO_EXAM, create_exam, expect, screenshot, start_exam
from e2e_conftest import LiveServer, login, new_context

pytestmark = pytest.mark.browser


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
