"""Proctor Center and session page in a real browser, against the real server.

A proctor watches /proctor-center while a candidate (another browser context, fake camera) takes
an exam: the card appears live (SSE, no reload), fills with webcam snapshots, and the proctor's
warn / flag / terminate reach the candidate. Every wait is bounded; the tight bounds are the
product's promises (card within 2 s, first thumbnail within 10 s, warning within 2 s).

Each test uses a fresh exam created by the admin, and ends every attempt it started, so the next
test starts with no active session (the Proctor Center then shows its sample cards)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_conftest import login, new_context
from proctor_pages import (
    REAL_CARD,
    SAMPLE_CARD,
    TIMINGS,
    answer_dialog,
    clocked,
    image_loaded,
    report_timings,
    start_exam,
    wait_count_above,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> Iterator[None]:
    yield from report_timings()


def test_live_card_snapshots_warn_flag_terminate(
    live_server: Any, browser: Any, fresh_exam: Any
) -> None:
    from playwright.sync_api import expect

    title = fresh_exam()
    proctor_ctx, candidate_ctx = new_context(browser), new_context(browser)
    try:
        proctor = login(proctor_ctx, live_server, "proctor")
        proctor.goto(f"{live_server.url}/proctor-center")
        # nothing is active yet: the two sample cards, clearly marked, their actions disabled
        expect(proctor.locator(SAMPLE_CARD)).to_have_count(2, timeout=5_000)
        expect(proctor.get_by_test_id("sample-badge").first).to_have_text("Sample")
        for button in proctor.locator(f"{SAMPLE_CARD} button").all():
            expect(button).to_be_disabled()
        expect(proctor.get_by_test_id("stream-state")).to_have_attribute(
            "data-state", "connected", timeout=5_000
        )
        proctor.evaluate("window.__sameDocument = true")

        candidate = login(candidate_ctx, live_server, "candidate")
        candidate.goto(f"{live_server.url}/exams")
        start_button = (
            candidate.get_by_test_id("exam-card").filter(has_text=title).get_by_role("button", name="Start")
        )
        started = time.monotonic()
        start_button.click()
        real = proctor.locator(REAL_CARD)
        expect(real).to_have_count(1, timeout=2_000)  # live, within 2 s of the start
        TIMINGS["card_appears"] = time.monotonic() - started
        expect(proctor.locator(SAMPLE_CARD)).to_have_count(0, timeout=2_000)
        assert proctor.evaluate("window.__sameDocument === true"), "the Proctor Center page was reloaded"
        candidate.wait_for_url(re.compile(r"/exam/[0-9a-f-]{36}$"), timeout=10_000)
        attempt_id = candidate.url.rsplit("/", 1)[1]
        fresh_exam.attempts.append(attempt_id)

        card = proctor.locator(f"[data-testid=session-card][data-attempt-id='{attempt_id}']")
        expect(card).to_contain_text("Casey Candidate")
        expect(card).to_contain_text(title)
        expect(card.get_by_test_id("live-status")).to_have_text(re.compile("^(Live|Reconnecting|Offline)$"))
        expect(card.get_by_test_id("connectivity")).to_contain_text(re.compile("[Nn]etwork"))

        # the first webcam snapshot replaces the initials avatar within 10 s of the start
        thumb = card.locator("img.thumb")
        expect(thumb).to_be_visible(timeout=max(1_000, int((10 - (time.monotonic() - started)) * 1000)))
        TIMINGS["first_thumbnail"] = time.monotonic() - started
        deadline = time.monotonic() + 3
        while not image_loaded(thumb) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert image_loaded(thumb), "the thumbnail is a broken image"
        count = card.get_by_test_id("snapshot-count")
        first = int(count.inner_text())
        assert first >= 1
        # ...and the count keeps rising (snapshot interval is 5 s on the test server)
        clocked("snapshot_count_rises", lambda: wait_count_above(count, first, 15))

        # warn: the candidate sees the overlay within 2 s
        card.locator("button[data-action=warn]").click()
        sent = time.monotonic()
        answer_dialog(proctor, "Please keep your eyes on the screen")
        overlay = candidate.get_by_test_id("warn-overlay")
        expect(overlay).to_be_visible(timeout=2_000)
        TIMINGS["warn_reaches_candidate"] = time.monotonic() - sent
        expect(overlay).to_contain_text("Please keep your eyes on the screen")
        overlay.get_by_role("button").click()

        # flag: the risk score and its reason update live on the card
        risk_before = int(card.get_by_test_id("risk-score").inner_text())
        card.locator("button[data-action=flag]").click()
        answer_dialog(proctor, "Looked away repeatedly")
        expect(card.get_by_test_id("risk-score")).not_to_have_text(str(risk_before), timeout=2_000)
        expect(card).to_contain_text("Flagged")

        # terminate: the candidate's page ends, the card leaves the Active grid, samples return
        card.locator("button[data-action=terminate]").click()
        sent = time.monotonic()
        answer_dialog(proctor, "Phone visible on camera")
        expect(card).to_have_count(0, timeout=2_000)
        TIMINGS["card_leaves_grid"] = time.monotonic() - sent
        ended = candidate.get_by_test_id("exam-ended")
        expect(ended).to_be_visible(timeout=5_000)
        TIMINGS["candidate_sees_end"] = time.monotonic() - sent
        expect(ended).to_contain_text("Phone visible on camera")
        expect(proctor.locator(SAMPLE_CARD)).to_have_count(2, timeout=3_000)

        # the Cancelled filter shows it (GET), and the stream keeps running
        proctor.get_by_label("Status").select_option("Cancelled")
        cancelled = proctor.locator(f"[data-testid=session-card][data-attempt-id='{attempt_id}']")
        expect(cancelled).to_be_visible(timeout=3_000)
        expect(cancelled.locator("button[data-action=warn]")).to_be_disabled()
        expect(cancelled.locator("button[data-action=terminate]")).to_be_disabled()
        assert proctor.evaluate("window.__sameDocument === true")
    finally:
        candidate_ctx.close()
        proctor_ctx.close()


def test_filter_sort_and_samples_refuse_actions(
    live_server: Any, browser: Any, fresh_exam: Any
) -> None:
    from playwright.sync_api import expect

    title = fresh_exam()
    proctor_ctx = new_context(browser)
    contexts = [proctor_ctx]
    # every thumbnail fails to load here: the cards must fall back to the initials avatar
    proctor_ctx.route("**/api/Proctor/snapshot-file/**", lambda route: route.fulfill(status=404, body=""))
    try:
        proctor = login(proctor_ctx, live_server, "proctor")
        proctor.goto(f"{live_server.url}/proctor-center")
        expect(proctor.locator(SAMPLE_CARD)).to_have_count(2, timeout=5_000)
        # the server refuses actions on samples too (409), not only the disabled buttons
        sample_id = proctor.locator(SAMPLE_CARD).first.get_attribute("data-attempt-id")
        status, body = live_server.api(
            "POST",
            f"/api/Proctor/sessions/{sample_id}/flag",
            {"note": "x"},
            token=live_server.token("proctor"),
        )
        assert status == 409, (status, body)

        for username in ("candidate", "candidate2"):
            ctx = new_context(browser)
            contexts.append(ctx)
            page = login(ctx, live_server, username)
            fresh_exam.attempts.append(start_exam(page, live_server, title))
        real = proctor.locator(REAL_CARD)
        expect(real).to_have_count(2, timeout=3_000)
        expect(proctor.locator(SAMPLE_CARD)).to_have_count(0)

        for index in range(2):
            expect(real.nth(index).get_by_test_id("snapshot-count")).not_to_have_text("0", timeout=10_000)
        expect(real.locator("[data-testid=avatar]")).to_have_count(2, timeout=3_000)
        expect(real.locator("img.thumb")).to_have_count(0)

        proctor.get_by_label("Sort by").select_option("name")
        expect(real.first.locator("h2")).to_have_text("Casey Candidate")
        expect(real.nth(1).locator("h2")).to_have_text("Robin Candidate")
        proctor.get_by_label("Candidate or exam").fill("robin")
        visible = proctor.locator(f"{REAL_CARD}:visible")
        expect(visible).to_have_count(1)
        expect(visible.locator("h2")).to_have_text("Robin Candidate")
        proctor.get_by_label("Candidate or exam").fill(title)
        expect(visible).to_have_count(2)
        # filters survive a reload through the query string
        proctor.reload()
        expect(proctor.get_by_label("Sort by")).to_have_value("name")
        expect(proctor.locator(f"{REAL_CARD}:visible")).to_have_count(2, timeout=5_000)
    finally:
        for ctx in reversed(contexts):
            ctx.close()
