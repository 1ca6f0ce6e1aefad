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
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

E2E_CONFTEST = Path(__file__).resolve().with_name("conftest.py")
REAL_CARD = "[data-testid=session-card]:not(:has([data-testid=sample-badge]))"
SAMPLE_CARD = "[data-testid=session-card]:has([data-testid=sample-badge])"
TIMINGS: dict[str, float] = {}


# -- helpers ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def e2e(request: pytest.FixtureRequest) -> Any:
    """The e2e conftest module (for login/new_context): looked up by path, because several
    conftest.py files share the module name `conftest`."""
    for plugin in request.config.pluginmanager.get_plugins():
        file = getattr(plugin, "__file__", None)
        if file and Path(file).resolve() == E2E_CONFTEST:
            return plugin
    raise RuntimeError(f"{E2E_CONFTEST} is not loaded")


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> Iterator[None]:
    yield
    if TIMINGS:
        print("\nproctor-center timings (s): " + ", ".join(f"{k}={v:.2f}" for k, v in TIMINGS.items()))


def clocked(name: str, wait: Callable[[], Any]) -> Any:
    start = time.monotonic()
    result = wait()
    TIMINGS[name] = time.monotonic() - start
    return result


@pytest.fixture
def fresh_exam(live_server: Any) -> Iterator[Callable[[], str]]:
    """Creates exams (as the admin, Bearer token) with unique titles; force-ends, at teardown,
    every attempt any test registered with `fresh_exam.attempts`."""
    admin = live_server.token("admin")
    attempts: list[str] = []

    def make() -> str:
        title = f"E2E proctoring {uuid.uuid4().hex[:8]}"
        status, body = live_server.api("POST", "/api/exams", {
            "title": title, "durationSeconds": 1800, "proctoringEnabled": True,
            "questions": [{"id": "q1", "text": "Two plus two?", "choices": ["3", "4"], "answer": 1}],
        }, token=admin)  # fmt: skip
        assert status == 201, (status, body)
        return title

    make.attempts = attempts  # type: ignore[attr-defined]
    yield make
    for attempt_id in attempts:
        status, body = live_server.api(
            "POST", f"/api/attempt-control/{attempt_id}/force-end", {"reason": "e2e cleanup"}, token=admin
        )
        assert status in (200, 409), (status, body)


def new_context(e2e: Any, browser: Any) -> Any:
    return e2e.new_context(browser)


def start_exam(page: Any, live_server: Any, title: str) -> str:
    """The candidate starts `title` from the /exams page; returns the attempt id."""
    page.goto(f"{live_server.url}/exams")
    card = page.get_by_test_id("exam-card").filter(has_text=title)
    card.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/exam/[0-9a-f-]{36}$"), timeout=10_000)
    return page.url.rsplit("/", 1)[1]


def answer_dialog(page: Any, text: str) -> None:
    dialog = page.get_by_test_id("action-dialog")
    dialog.get_by_test_id("dialog-text").fill(text)
    dialog.get_by_test_id("dialog-confirm").click()


def image_loaded(locator: Any) -> bool:
    return bool(locator.evaluate("img => img.complete && img.naturalWidth > 0"))


def wait_count_above(locator: Any, value: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = int(locator.inner_text() or 0)
        if now > value:
            return now
        time.sleep(0.2)
    raise AssertionError(f"{locator} stayed at {locator.inner_text()} (wanted > {value}) for {timeout_s} s")


# -- tests -----------------------------------------------------------------------------------
def test_live_card_snapshots_warn_flag_terminate(
    e2e: Any, live_server: Any, browser: Any, fresh_exam: Any
) -> None:
    from playwright.sync_api import expect

    title = fresh_exam()
    proctor_ctx, candidate_ctx = new_context(e2e, browser), new_context(e2e, browser)
    try:
        proctor = e2e.login(proctor_ctx, live_server, "proctor")
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

        candidate = e2e.login(candidate_ctx, live_server, "candidate")
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


def test_session_detail_page(e2e: Any, live_server: Any, browser: Any, fresh_exam: Any) -> None:
    from playwright.sync_api import expect

    title = fresh_exam()
    proctor_ctx, candidate_ctx = new_context(e2e, browser), new_context(e2e, browser)
    try:
        candidate = e2e.login(candidate_ctx, live_server, "candidate2")
        attempt_id = start_exam(candidate, live_server, title)
        fresh_exam.attempts.append(attempt_id)

        proctor = e2e.login(proctor_ctx, live_server, "proctor")
        proctor.goto(f"{live_server.url}/proctor-center")
        card = proctor.locator(f"[data-testid=session-card][data-attempt-id='{attempt_id}']")
        expect(card).to_be_visible(timeout=5_000)
        card.get_by_role("link", name=re.compile("View")).click()
        proctor.wait_for_url(f"**/proctor-center/session/{attempt_id}")
        proctor.evaluate("window.__sameDocument = true")

        expect(proctor.get_by_test_id("candidate-name")).to_have_text("Robin Candidate")
        expect(proctor.locator("#exam")).to_have_text(title)
        expect(proctor.get_by_test_id("session-status")).to_have_text("Active")
        # the reserved live-video area and the link to the recording page
        video = proctor.get_by_test_id("live-video")
        expect(video).to_have_count(1)
        assert video.evaluate("v => v.muted && v.autoplay && v.playsInline")
        expect(proctor.locator("#live").get_by_test_id("live-status")).to_have_text(
            re.compile("^(Live|Reconnecting|Offline)$")
        )
        expect(proctor.get_by_role("link", name="Recording")).to_have_attribute(
            "href", f"/proctor-center/recording/{attempt_id}"
        )

        # screenshots (latest first) and the timeline
        shots = proctor.get_by_test_id("screenshot")
        expect(shots.first).to_be_visible(timeout=10_000)
        deadline = time.monotonic() + 3
        while not image_loaded(shots.first) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert image_loaded(shots.first), "the screenshot is a broken image"
        items = proctor.get_by_test_id("timeline-item")
        expect(items.first).to_be_visible()
        expect(proctor.locator("[data-testid=timeline-item][data-category=lifecycle]").first).to_be_visible()

        # click-to-preview
        shots.first.click()
        preview = proctor.locator("dialog#preview")
        expect(preview).to_be_visible()
        expect(proctor.get_by_test_id("screenshot-preview")).to_have_attribute(
            "src", shots.first.get_attribute("src") or ""
        )
        preview.get_by_role("button", name="Close").click()
        expect(preview).to_be_hidden()

        # new screenshots arrive live (stream-driven re-fetch, no reload), latest first
        before = shots.count()
        newest = shots.first.get_attribute("data-snapshot-id")
        start = time.monotonic()
        expect(shots).not_to_have_count(before, timeout=15_000)
        TIMINGS["detail_new_screenshot"] = time.monotonic() - start
        assert shots.first.get_attribute("data-snapshot-id") != newest
        assert proctor.evaluate("window.__sameDocument === true"), "the session page was reloaded"

        # actions from the detail page: warn reaches the candidate and lands on the timeline
        timeline_before = items.count()
        proctor.locator("#actions button[data-action=warn]").click()
        sent = time.monotonic()
        answer_dialog(proctor, "Second warning from the detail page")
        expect(candidate.get_by_test_id("warn-overlay")).to_be_visible(timeout=2_000)
        TIMINGS["detail_warn_reaches_candidate"] = time.monotonic() - sent
        expect(items).not_to_have_count(timeline_before, timeout=3_000)
        expect(proctor.locator("[data-testid=timeline-item][data-category=action]").first).to_be_visible()

        proctor.locator("#actions button[data-action=terminate]").click()
        answer_dialog(proctor, "Ended from the detail page")
        expect(proctor.get_by_test_id("session-status")).to_contain_text("Cancelled", timeout=3_000)
        expect(proctor.locator("#actions button[data-action=warn]")).to_be_disabled()
        expect(proctor.locator("#actions button[data-action=terminate]")).to_be_disabled()
        expect(candidate.get_by_test_id("exam-ended")).to_be_visible(timeout=5_000)
    finally:
        candidate_ctx.close()
        proctor_ctx.close()


def test_filter_sort_and_samples_refuse_actions(
    e2e: Any, live_server: Any, browser: Any, fresh_exam: Any
) -> None:
    from playwright.sync_api import expect

    title = fresh_exam()
    proctor_ctx = new_context(e2e, browser)
    contexts = [proctor_ctx]
    # every thumbnail fails to load here: the cards must fall back to the initials avatar
    proctor_ctx.route("**/api/Proctor/snapshot-file/**", lambda route: route.fulfill(status=404, body=""))
    try:
        proctor = e2e.login(proctor_ctx, live_server, "proctor")
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
            ctx = new_context(e2e, browser)
            contexts.append(ctx)
            page = e2e.login(ctx, live_server, username)
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
