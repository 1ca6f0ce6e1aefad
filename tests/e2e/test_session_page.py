"""The session page (one attempt's detail) in a real browser, against the real server: header,
live-video area, screenshots with preview, the timeline and its filters, actions that reach the
candidate, and no link to a page that does not exist (checked on every staff page).

The Proctor Center grid itself: test_proctor_center.py."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_conftest import login, new_context
from proctor_pages import (
    TIMINGS,
    answer_dialog,
    image_loaded,
    report_timings,
    start_exam,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> Iterator[None]:
    yield from report_timings()


def test_session_detail_page(live_server: Any, browser: Any, fresh_exam: Any) -> None:
    from playwright.sync_api import expect

    title = fresh_exam()
    proctor_ctx, candidate_ctx = new_context(browser), new_context(browser)
    try:
        candidate = login(candidate_ctx, live_server, "candidate2")
        attempt_id = start_exam(candidate, live_server, title)
        fresh_exam.attempts.append(attempt_id)

        proctor = login(proctor_ctx, live_server, "proctor")
        proctor.goto(f"{live_server.url}/proctor-center")
        card = proctor.locator(f"[data-testid=session-card][data-attempt-id='{attempt_id}']")
        expect(card).to_be_visible(timeout=5_000)
        card.get_by_role("link", name=re.compile("View")).click()
        proctor.wait_for_url(f"**/proctor-center/session/{attempt_id}")
        proctor.evaluate("window.__sameDocument = true")

        expect(proctor.get_by_test_id("candidate-name")).to_have_text("Robin Candidate")
        expect(proctor.locator("#exam")).to_have_text(title)
        expect(proctor.get_by_test_id("session-status")).to_have_text("Active")
        # the live-video area and the link to the Attempt Video Page (every link's target is
        # checked in test_no_dead_links_...)
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


def same_site_links(page: Any, base: str) -> set[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map((a) => a.href)")
    return {h.split("#", 1)[0] for h in hrefs if h.startswith(base)}


def test_no_dead_links_and_every_timeline_filter_matches(
    live_server: Any, browser: Any, fresh_exam: Any
) -> None:
    """Every same-site link on the candidate's and the staff's pages leads to a page (no 404),
    no page throws a script error, and each timeline filter shows at least one item, all of
    its own category."""
    from playwright.sync_api import expect

    title = fresh_exam()
    candidate_ctx, admin_ctx = new_context(browser), new_context(browser)
    try:
        errors: list[str] = []
        for ctx in (candidate_ctx, admin_ctx):
            ctx.on("page", lambda page: page.on("pageerror", lambda err: errors.append(f"{page.url}: {err}")))
        candidate = login(candidate_ctx, live_server, "candidate")
        links = same_site_links(candidate, live_server.url)
        attempt_id = start_exam(candidate, live_server, title)
        fresh_exam.attempts.append(attempt_id)
        expect(candidate.get_by_test_id("question").first).to_be_visible()
        links |= same_site_links(candidate, live_server.url)
        token = live_server.token("candidate")
        for kind in ("tab_hidden", "network_offline"):  # one conduct, one connectivity item
            status, body = live_server.api("POST", f"/api/Proctor/event/{attempt_id}", {"type": kind}, token)
            assert status in (200, 201, 202), (kind, status, body)

        admin = login(admin_ctx, live_server, "admin")
        admin.goto(f"{live_server.url}/proctor-center")
        card = admin.locator(f"[data-testid=session-card][data-attempt-id='{attempt_id}']")
        expect(card).to_be_visible(timeout=5_000)
        links |= same_site_links(admin, live_server.url)
        card.locator("button[data-action=flag]").click()
        answer_dialog(admin, "checking the filters")  # one proctor-action item
        admin.goto(f"{live_server.url}/proctor-center/session/{attempt_id}")
        expect(admin.get_by_test_id("candidate-name")).to_have_text("Casey Candidate")
        links |= same_site_links(admin, live_server.url)

        assert f"{live_server.url}/proctor-center/session/{attempt_id}" in links, sorted(links)
        for url in sorted(links):
            ctx = candidate_ctx if "/exam/" in url else admin_ctx  # the exam page is the candidate's
            status = ctx.request.get(url).status
            assert status < 400, f"{url} answers {status}"

        items = admin.get_by_test_id("timeline-item")
        options = admin.get_by_test_id("timeline-filter").locator("option").all()
        categories = [value for o in options if (value := o.get_attribute("value"))]
        assert categories, "the timeline filter has no categories"
        for category in categories:
            admin.get_by_test_id("timeline-filter").select_option(category)
            shown = admin.locator(f"[data-testid=timeline-item][data-category={category}]")
            expect(shown.first).to_be_visible(timeout=5_000)
            expect(items).to_have_count(shown.count())
        assert errors == [], errors
    finally:
        admin_ctx.close()
        candidate_ctx.close()

