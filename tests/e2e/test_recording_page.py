"""The Attempt Video Page in a real browser: who may open it, how it is reached (the session page
and the Proctor Center card), that it renders without script errors and that its timeline is
keyboard-usable; and the segment map it seeks with (pages/recording/model.js, run in Chromium).

The full flow with a real recording (outage, reload, submit, Ready, playback): test_recording_e2e.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from candidate_pages import expect, start_exam
from e2e_conftest import LiveServer, login, new_context

pytestmark = pytest.mark.browser

# Segment 0: 00:00-00:12 wall clock with 00:03-00:06 lost (9 s of video); a reload 00:12-00:15;
# segment 1: 00:15 on, 11 s of video from offset 9.
SEEK_CASES = """async () => {
  const { toRecording, videoTimeAt, seekTimeFor } = await import("/static/pages/recording/model.js");
  const at = (s) => `2026-01-01T00:00:${String(s).padStart(2, "0")}Z`;
  const r = toRecording({ status: "Ready", durationSeconds: 20, videoUrl: "/v.mp4", retentionDays: 30,
    segments: [
      { segment: 0, wallClockStart: "2026-01-01T00:00:00+00:00", videoOffsetSeconds: 0, durationSeconds: 9 },
      { segment: 1, wallClockStart: "2026-01-01T00:00:15+00:00", videoOffsetSeconds: 9, durationSeconds: 11 },
    ],
    gaps: [
      { start: at(3), end: at(6), reason: "connection lost" },
      { start: at(12), end: at(15), reason: "page reloaded" },
    ] });
  return {
    status: r.status, days: r.retentionDays,
    times: [-1, 0, 2, 4, 8, 11, 13, 16, 40]
      .map((s) => videoTimeAt(r, s < 0 ? "2025-12-31T23:59:59Z" : at(s))),
    reloadGap: seekTimeFor(r, { kind: "recording_gap", at: "2026-01-01T00:00:12.000+00:00" }),
    event: seekTimeFor(r, { kind: "tab_hidden", at: at(17) }),
    noMap: videoTimeAt(toRecording({ status: "Processing" }), at(1)),
  };
}"""


def test_seek_model_maps_wall_clock_to_video_time_through_segments_and_gaps(
    live_server: LiveServer, context: Any
) -> None:
    page = login(context, live_server, "supervisor")
    out = page.evaluate(SEEK_CASES)
    assert out["status"] == "Ready" and out["days"] == 30
    # before the recording: 0; inside segment 0 (minus the lost 3 s); inside the loss: where the
    # video goes on; in the reload gap: segment 1's start; past the end: the end
    assert out["times"] == [0, 0, 2, 3, 5, 8, 9, 10, 20], out["times"]
    assert out["reloadGap"] == 9 and out["event"] == 11 and out["noMap"] is None


def test_video_page_is_linked_for_staff_and_refused_to_candidates(
    live_server: LiveServer, browser: Any, fresh_exam: Any
) -> None:
    title = fresh_exam()
    candidate_ctx, staff_ctx = new_context(browser), new_context(browser)
    errors: list[str] = []
    staff_ctx.on("page", lambda page: page.on("pageerror", lambda err: errors.append(f"{page.url}: {err}")))
    try:
        candidate = login(candidate_ctx, live_server, "candidate")
        attempt_id = start_exam(candidate, live_server, title)
        fresh_exam.attempts.append(attempt_id)
        staff = login(staff_ctx, live_server, "proctor")
        staff.goto(f"{live_server.url}/proctor-center")
        card = staff.locator(f"[data-testid=session-card][data-attempt-id='{attempt_id}']")
        expect(card).to_be_visible(timeout=5_000)
        link = card.get_by_role("link", name=re.compile("^Recording of "))
        expect(link).to_have_attribute("href", f"/proctor-center/recording/{attempt_id}")
        link.click()
        staff.wait_for_url(f"**/proctor-center/recording/{attempt_id}")

        expect(staff.get_by_role("heading", level=1)).to_have_text("Recording: Casey Candidate")
        for name in ("Video", "Screenshots", "Timeline"):
            expect(staff.get_by_role("heading", name=re.compile(f"^{name}"), level=2)).to_be_visible()
        expect(staff.get_by_test_id("recording-status")).to_have_text(re.compile("^(None|Recording|Processing)$"))
        expect(staff.get_by_test_id("recording-player")).to_be_hidden()  # not Ready yet
        items = staff.get_by_test_id("timeline-item")
        expect(items.first).to_be_visible()
        # every item is a button (keyboard-usable), disabled while there is no video to seek
        assert items.count() == staff.locator("[data-testid=timeline-item] > button").count()
        expect(staff.get_by_role("link", name="← Session")).to_have_attribute(
            "href", f"/proctor-center/session/{attempt_id}"
        )

        # a candidate gets the "not allowed" page, not the recording
        candidate.goto(f"{live_server.url}/proctor-center/recording/{attempt_id}")
        expect(candidate.get_by_role("heading", level=1)).to_have_text("Not allowed")
        expect(candidate.get_by_test_id("recording-player")).to_have_count(0)
        assert errors == [], errors
    finally:
        candidate_ctx.close()
        staff_ctx.close()
