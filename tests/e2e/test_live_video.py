"""Live video in real Chromium against the real server: the candidate's exam page publishes its
fake camera over WebRTC, proctors watch on the session page (view-only, recvonly).

- a proctor and a supervisor at the same time: both Live within 5 s, frames decoding;
- the candidate's tab closes: Offline within 15 s; the candidate comes back: Live again;
- the Proctor Center card follows the live status from the read model;
- the timeline lists the live events as Network items, never as risk.

Run (loopback-only network namespace): ./test.sh tests/e2e/test_live_video.py -q
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from candidate_pages import timeline_kinds, wait_until
from e2e_conftest import login, new_context
from live_pages import (
    LIVE_STATUS,
    TIMINGS,
    candidate_publishing,
    clocked,
    frames,
    live_state,
    open_session,
    report_timings,
    wait_frames_above,
    wait_live_and_moving,
    wait_publisher_open,
    wait_status,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> Iterator[None]:
    yield from report_timings()


def test_two_staff_watch_live_then_candidate_leaves_and_returns(live_server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    candidate_ctx, proctor_ctx, supervisor_ctx = (new_context(browser) for _ in range(3))
    attempt_id = ""
    try:
        candidate, attempt_id = candidate_publishing(candidate_ctx, live_server)

        proctor = open_session(proctor_ctx, live_server, attempt_id, "proctor")
        clocked("proctor_live", lambda: wait_live_and_moving(proctor, timeout_ms=5_000))
        supervisor = open_session(supervisor_ctx, live_server, attempt_id, "supervisor")
        clocked("second_viewer_live", lambda: wait_live_and_moving(supervisor, timeout_ms=5_000))
        # both at once, each on its own connection, 640x480 from the fake camera
        wait_frames_above(proctor, frames(proctor) + 5)
        for page in (proctor, supervisor):
            assert page.evaluate("() => document.querySelector('[data-testid=live-video]').videoWidth") == 640
        # the candidate is told that a proctor watches
        expect(candidate.get_by_test_id("live-watch-note")).to_have_text(re.compile("^A proctor is watching"))
        published = live_state(candidate)
        assert len(published["links"]) == 2, published
        assert all(link["state"] == "connected" for link in published["links"]), published
        assert candidate.evaluate("""() => [...window.smartExamLive.links.values()].every((l) =>
            l.pc.getSenders().every((s) => !s.track || s.track.kind === 'video'))"""), "no audio is sent"

        # the candidate's tab closes: Offline within 15 s on both pages
        candidate.close()
        clocked("offline_after_tab_close", lambda: wait_status(proctor, "Offline", 15_000))
        wait_status(supervisor, "Offline", 15_000)

        # the candidate comes back (opens the exam page again): Live again, new frames
        back = candidate_ctx.new_page()
        back.goto(f"{live_server.url}/exam/{attempt_id}")
        wait_publisher_open(back)
        clocked("live_after_return", lambda: wait_live_and_moving(proctor, timeout_ms=10_000))
        wait_live_and_moving(supervisor, timeout_ms=10_000)
        assert live_state(proctor)["links"][0]["gen"] >= 1, "a new publisher must mean a new connection"
    finally:
        for ctx in (candidate_ctx, proctor_ctx, supervisor_ctx):
            ctx.close()
        if attempt_id:
            live_server.force_end(attempt_id)


def test_card_and_timeline_show_live_as_network(live_server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    candidate_ctx, proctor_ctx, center_ctx = (new_context(browser) for _ in range(3))
    attempt_id = ""
    try:
        candidate, attempt_id = candidate_publishing(candidate_ctx, live_server)
        center = login(center_ctx, live_server, "proctor")
        center.goto(f"{live_server.url}/proctor-center")
        card = center.locator(f"[data-testid=session-card][data-attempt-id='{attempt_id}']")
        expect(card).to_be_visible(timeout=10_000)
        # Live on the card = the candidate's camera can be watched now, whether or not anyone does
        start = time.monotonic()
        expect(card.get_by_test_id("live-status")).to_have_text("Live", timeout=10_000)
        TIMINGS["card_live"] = time.monotonic() - start
        risk_before = card.get_by_test_id("risk-score").inner_text()

        # a proctor watches and leaves: nothing was lost, the candidate is still available
        proctor = open_session(proctor_ctx, live_server, attempt_id)
        wait_live_and_moving(proctor)
        proctor.close()
        candidate.wait_for_function("() => !window.smartExamLive.snapshot().links.length", timeout=10_000)
        assert "live_lost" not in timeline_kinds(live_server, attempt_id)
        expect(card.get_by_test_id("live-status")).to_have_text("Live")

        # the candidate's tab closes: the server records the loss, the card says Offline
        candidate.close()
        expect(card.get_by_test_id("live-status")).to_have_text("Offline", timeout=10_000)
        kinds = wait_until(
            lambda: (
                (k := timeline_kinds(live_server, attempt_id))
                and {"live_connected", "live_lost"} <= set(k)
                and k
            ),
            timeout=10,
        )
        assert kinds and {"live_connected", "live_lost"} <= set(kinds), kinds

        # the candidate comes back: Live on the card again
        back = candidate_ctx.new_page()
        back.goto(f"{live_server.url}/exam/{attempt_id}")
        expect(card.get_by_test_id("live-status")).to_have_text("Live", timeout=10_000)

        # the session page lists them under Network; the risk counts none of them (closing the
        # tab did report tab_hidden, which is conduct and counts)
        page = open_session(proctor_ctx, live_server, attempt_id)
        wait_status(page, "Live", 5_000)
        items = page.locator("[data-testid=timeline-item][data-kind^=live_]")
        expect(items.first).to_be_visible(timeout=10_000)
        categories = set(items.evaluate_all("els => els.map((e) => e.dataset.category)"))
        assert categories == {"connectivity"}, categories
        page.get_by_test_id("timeline-filter").select_option("connectivity")
        expect(page.locator("[data-testid=timeline-item][data-kind=live_connected]").first).to_be_visible()
        reasons = page.get_by_test_id("risk-reasons").inner_text()
        assert "live" not in reasons.lower(), reasons
        status, detail = live_server.api(
            "GET", f"/api/Proctor/sessions/{attempt_id}", token=live_server.token("proctor")
        )
        assert status == 200 and int(risk_before) == 0
        counted = {r["type"] for r in detail["session"]["riskReasons"]}
        assert not {k for k in counted if k.startswith("live_")}, counted
        assert page.locator(LIVE_STATUS).inner_text() == "Live"
    finally:
        for ctx in (candidate_ctx, proctor_ctx, center_ctx):
            ctx.close()
        if attempt_id:
            live_server.force_end(attempt_id)


TRACK_ID = "() => window.smartExamProctoring.camera.stream.getVideoTracks()[0].id"
# Every live sender carries the camera's current video track (replaceTrack after a restart).
SENDERS_ON_CURRENT_TRACK = """() => {
  const track = window.smartExamProctoring.camera.stream?.getVideoTracks()[0];
  const links = [...window.smartExamLive.links.values()];
  return !!track && links.length > 0 && links.every((l) => l.pc.getSenders().every((s) => s.track === track));
}"""


def test_camera_restart_keeps_streaming_and_submit_says_bye(live_server: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    candidate_ctx, proctor_ctx = new_context(browser), new_context(browser)
    attempt_id = ""
    try:
        candidate, attempt_id = candidate_publishing(candidate_ctx, live_server)
        proctor = open_session(proctor_ctx, live_server, attempt_id)
        wait_live_and_moving(proctor)
        old_track = candidate.evaluate(TRACK_ID)

        # a camera restart makes a new track: the same connection sends it (no renegotiation)
        assert candidate.evaluate("() => window.smartExamProctoring.retryCamera()") is True
        candidate.wait_for_function(SENDERS_ON_CURRENT_TRACK)
        new_track = candidate.evaluate(TRACK_ID)
        assert new_track != old_track
        wait_frames_above(proctor, frames(proctor) + 10)
        assert proctor.locator(LIVE_STATUS).inner_text() == "Live"
        assert live_state(proctor)["links"][0]["gen"] == 0

        # submit: the page says bye at once; the proctor sees Offline, the session Completed
        candidate.get_by_role("button", name="Submit exam").click()
        candidate.get_by_role("button", name="Yes, submit now").click()
        expect(candidate.get_by_test_id("exam-ended")).to_be_visible()
        clocked("offline_after_submit", lambda: wait_status(proctor, "Offline", 5_000))
        assert live_state(candidate)["signaling"] == "stopped"
        assert candidate.evaluate("() => window.smartExamLive.links.size") == 0
        expect(proctor.get_by_test_id("session-status")).to_have_text(re.compile("^Completed"))
        proctor.wait_for_function("() => window.smartExamLive.signaling.state === 'stopped'")
    finally:
        for ctx in (candidate_ctx, proctor_ctx):
            ctx.close()
        if attempt_id:
            live_server.force_end(attempt_id)


def test_second_candidate_tab_wins_and_the_first_takes_over_again(live_server: Any, browser: Any) -> None:
    candidate_ctx, proctor_ctx = new_context(browser), new_context(browser)
    attempt_id = ""
    peer = "() => window.smartExamLive.signaling.welcome.peer"
    watched = "() => window.smartExamLive.owner.publisher"
    try:
        first, attempt_id = candidate_publishing(candidate_ctx, live_server)
        proctor = open_session(proctor_ctx, live_server, attempt_id)
        wait_live_and_moving(proctor)
        assert proctor.evaluate(watched) == first.evaluate(peer)

        # the same exam in a second tab: the newest page is watched, and it stays so (no ping-pong)
        second = candidate_ctx.new_page()
        second.goto(f"{live_server.url}/exam/{attempt_id}")
        wait_publisher_open(second)
        proctor.wait_for_function(f"(p) => ({watched})() === p", arg=second.evaluate(peer))
        wait_live_and_moving(proctor)
        gen = live_state(proctor)["links"][0]["gen"]
        wait_frames_above(proctor, frames(proctor) + 40)
        assert live_state(proctor)["links"][0]["gen"] == gen
        assert proctor.evaluate(watched) == second.evaluate(peer)

        # the second tab closes: the first one, still open, is watched again
        second.close()
        proctor.wait_for_function(f"(p) => ({watched})() === p", arg=first.evaluate(peer), timeout=10_000)
        clocked("live_from_remaining_tab", lambda: wait_live_and_moving(proctor, timeout_ms=10_000))
    finally:
        for ctx in (candidate_ctx, proctor_ctx):
            ctx.close()
        if attempt_id:
            live_server.force_end(attempt_id)
