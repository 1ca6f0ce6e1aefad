"""Server recording end to end: the exam page records with the fake camera (chunks every 3 s),
the server goes away for 10 s (its process stopped, then started again on the same port and
data dir), the page is reloaded once, the candidate submits; the recording is finalized and the
Attempt Video Page plays it. And with the flag off: no MediaRecorder, no chunk request.

Run (loopback-only network namespace):
    ./test.sh tests/e2e/test_recording_e2e.py -q
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from candidate_pages import create_exam, expect, start_exam
from e2e_conftest import LiveServer, login, new_context, serving

pytestmark = pytest.mark.browser

CHUNK_SECONDS = 3
OUTAGE_SECONDS = 10
GRACE_SECONDS = 10  # the finalizer waits this long for a segment that never got its final chunk
# Counts every MediaRecorder the page creates (window.__recorders).
COUNT_RECORDERS = """(() => {
  window.__recorders = 0;
  const Native = window.MediaRecorder;
  if (!Native) return;
  window.MediaRecorder = class extends Native {
    constructor(...args) { super(...args); window.__recorders += 1; }
  };
})();"""
# Resolves `ms` after the exam page's recorder next stored a chunk in the outbox.
NEXT_CHUNK_STORED = """(ms) => new Promise((resolve) => window.smartExamRecording.recorder.addEventListener(
  "chunk", () => setTimeout(resolve, ms), { once: true }))"""
RELOAD_INTO_SLICE_MS = 1500
PLAYER_STATE = "v => ({ readyState: v.readyState, currentTime: v.currentTime, paused: v.paused })"


@pytest.fixture(scope="module")
def recording_server() -> Iterator[LiveServer]:
    with serving(CHUNK_SECONDS=str(CHUNK_SECONDS), FINALIZE_GRACE_SECONDS=str(GRACE_SECONDS)) as server:
        yield server


@pytest.fixture(scope="module")
def no_recording_server() -> Iterator[LiveServer]:
    with serving(ENABLE_VIDEO_RECORDING="false") as server:
        yield server


class ChunkLog:
    """What the browser sent to the chunk route and what it was answered, across reloads."""

    def __init__(self, context: Any) -> None:
        self.sent: list[tuple[int, int]] = []
        self.acked: set[tuple[int, int]] = set()
        self.failed: list[tuple[int, int]] = []
        self.started_at: dict[int, str] = {}
        context.on("request", self._request)
        context.on("response", self._response)
        context.on("requestfailed", self._failed)

    @staticmethod
    def _key(request: Any) -> tuple[int, int] | None:
        if request.method != "POST" or "/api/Proctor/video-chunk/" not in request.url:
            return None
        query = parse_qs(urlparse(request.url).query)
        return int(query["segment"][0]), int(query["seq"][0])

    def _request(self, request: Any) -> None:
        if key := self._key(request):
            self.sent.append(key)
            self.started_at.setdefault(key[0], request.headers.get("x-segment-started-at", ""))

    def _failed(self, request: Any) -> None:
        if key := self._key(request):
            self.failed.append(key)

    def _response(self, response: Any) -> None:
        if (key := self._key(response.request)) and response.status in (200, 201):
            self.acked.add(key)

    def acked_in(self, segment: int) -> int:
        return sum(1 for s, _ in self.acked if s == segment)


def pump_until(page: Any, predicate: Any, timeout: float, what: str) -> None:
    """Waits (bounded) for `predicate()`, letting Playwright deliver the page's events meanwhile
    (the sync API dispatches them only inside its own calls)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        page.wait_for_timeout(100)


def seconds_between(start: Any, end: Any) -> float:
    return (datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))).total_seconds()


def recording_of(server: LiveServer, attempt_id: str) -> dict[str, Any]:
    status, body = server.api("GET", f"/api/Proctor/recording/{attempt_id}", token=server.token("supervisor"))
    assert status == 200, (status, body)
    return dict(body)


def test_recording_survives_an_outage_and_a_reload_and_plays_on_the_video_page(
    recording_server: LiveServer, browser: Any
) -> None:
    server = recording_server
    title = create_exam(server)
    candidate_ctx, staff_ctx = new_context(browser), new_context(browser)
    candidate_ctx.add_init_script(COUNT_RECORDERS)
    chunks = ChunkLog(candidate_ctx)
    try:
        page = login(candidate_ctx, server, "candidate")
        attempt_id = start_exam(page, server, title)
        indicator = page.get_by_test_id("recording-indicator")
        expect(indicator).to_have_attribute("data-state", "recording", timeout=10_000)
        pump_until(page, lambda: chunks.acked_in(0) >= 1, 15, "a first acknowledged chunk")

        # The server goes away for 10 s; the page keeps recording into its outbox.
        down = time.monotonic()
        server.stop()
        stopped = time.monotonic() - down
        pump_until(page, lambda: chunks.failed, OUTAGE_SECONDS, "a chunk upload to fail")
        expect(indicator).not_to_have_attribute("data-backlog", "0")
        pump_until(page, lambda: time.monotonic() >= down + OUTAGE_SECONDS, OUTAGE_SECONDS + 1, "the outage")
        server.start()
        outage = time.monotonic() - down

        # One reload, mid-slice (a recorder's unsent tail is lost with the page): the new page
        # sends what the last one left behind and records segment 1.
        page.evaluate(NEXT_CHUNK_STORED, RELOAD_INTO_SLICE_MS)
        page.reload()
        expect(indicator).to_have_attribute("data-state", "recording", timeout=10_000)
        assert page.evaluate("window.__recorders") >= 1
        pump_until(page, lambda: chunks.acked_in(1) >= 2, 20, "two chunks of segment 1")
        expect(indicator).to_have_attribute("data-backlog", "0", timeout=10_000)

        page.locator("#submit").click()
        with page.expect_response(lambda r: r.url.endswith(f"/api/attempts/{attempt_id}/submit")) as info:
            page.locator("#confirm-submit").click()
        submitted_at = datetime.now().astimezone()
        response = info.value
        response.finished()
        submit_ms = response.request.timing["responseEnd"]
        assert response.status == 200, response.text()
        assert 0 < submit_ms < 300, f"submit took {submit_ms:.0f} ms"
        expect(page.get_by_test_id("exam-ended")).to_be_visible()
        expect(indicator).to_have_attribute("data-state", "stopped")
        expect(indicator).to_have_attribute("data-backlog", "0", timeout=15_000)  # drained after the result

        # The Attempt Video Page, opened while the recording is processed: Ready arrives live.
        staff = login(staff_ctx, server, "supervisor")
        staff.goto(f"{server.url}/proctor-center/recording/{attempt_id}")
        staff.evaluate("window.__sameDocument = true")
        status_badge = staff.get_by_test_id("recording-status")
        expect(status_badge).to_have_text("Processing", timeout=5_000)
        player = staff.get_by_test_id("recording-player")
        expect(player).to_be_hidden()
        expect(status_badge).to_have_text("Ready", timeout=GRACE_SECONDS * 1000 + 60_000)
        expect(player).to_be_visible()
        assert staff.evaluate("window.__sameDocument === true"), "the page was reloaded"

        recording = recording_of(server, attempt_id)
        gaps, segments = recording["gaps"], recording["segments"]
        days = recording["retentionDays"]
        note = f"This recording will be deleted after {days} days"
        expect(staff.get_by_test_id("retention-note")).to_have_text(note)

        print(f"segments {segments}, gaps {gaps}, segment starts seen {chunks.started_at}, "
              f"submitted {submitted_at.isoformat()}, acked {sorted(chunks.acked)}")  # fmt: skip
        # The reload is exactly one gap; the outage is none (nothing was lost, only late).
        assert [g["reason"] for g in gaps] == ["page reloaded"], gaps
        assert [s["segment"] for s in segments] == [0, 1], segments
        gap_seconds = sum(seconds_between(g["start"], g["end"]) for g in gaps)
        recorded = seconds_between(chunks.started_at[0], submitted_at.isoformat())
        duration = float(recording["durationSeconds"])
        print(f"recorded {recorded:.1f} s, gaps {gap_seconds:.1f} s, video {duration:.2f} s, "
              f"outage {outage:.1f} s (stopping took {stopped:.1f} s), submit {submit_ms:.0f} ms, "
              f"chunks acked {len(chunks.acked)}")  # fmt: skip
        assert abs(duration - (recorded - gap_seconds)) <= 1.5, (duration, recorded, gap_seconds)

        # No acknowledged chunk is missing on the server, and nothing is missing at all.
        status, held = server.api("GET", f"/api/Proctor/video-chunk/{attempt_id}/status",
                                  token=server.token("supervisor"))  # fmt: skip
        assert status == 200, (status, held)
        received = {(s["segment"], seq) for s in held["segments"] for seq in s["received"]}
        assert chunks.acked <= received, sorted(chunks.acked - received)
        assert all(s["missing"] == [] for s in held["segments"]), held

        # The timeline's gap item seeks to the start of segment 1; the video plays from there.
        gap_items = staff.locator("[data-testid=timeline-item][data-kind=recording_gap]")
        expect(gap_items).to_have_count(1)
        expect(gap_items).to_contain_text("(page reloaded)")
        staff.wait_for_function("v => v.readyState >= 2", arg=player.element_handle(), timeout=15_000)
        assert abs(player.evaluate("v => v.duration") - duration) < 0.5
        gap_items.get_by_role("button").focus()  # keyboard-usable: Enter on the item seeks and plays
        staff.keyboard.press("Enter")
        start_of_second = float(segments[1]["videoOffsetSeconds"])
        staff.wait_for_function(
            "([v, t]) => !v.paused && v.currentTime > t + 0.5",
            arg=[player.element_handle(), start_of_second],
            timeout=15_000,
        )
        state = player.evaluate(PLAYER_STATE)
        assert state["readyState"] >= 2 and start_of_second - 0.1 <= state["currentTime"], state
        expect(staff.get_by_test_id("screenshot").first).to_be_visible()
    finally:
        staff_ctx.close()
        candidate_ctx.close()


def test_flag_off_means_no_media_recorder_and_no_chunk_request(
    no_recording_server: LiveServer, browser: Any
) -> None:
    server = no_recording_server
    title = create_exam(server)
    ctx = new_context(browser)
    ctx.add_init_script(COUNT_RECORDERS)
    chunks = ChunkLog(ctx)
    try:
        page = login(ctx, server, "candidate")
        start_exam(page, server, title)
        # Proctoring works as before: the camera is on and snapshots reach the server (twice, so
        # the page ran well past one chunk interval).
        sent = page.get_by_test_id("snapshots-sent")
        expect(sent).to_have_text("2", timeout=20_000)
        assert page.evaluate("window.__recorders") == 0, "a MediaRecorder was created"
        assert chunks.sent == [], chunks.sent
        expect(page.get_by_test_id("recording-indicator")).to_have_count(0)
        databases = page.evaluate("async () => (await indexedDB.databases()).map((d) => d.name)")
        assert "smart-exam-recording" not in databases
        page.locator("#submit").click()
        page.locator("#confirm-submit").click()
        expect(page.get_by_test_id("exam-ended")).to_be_visible()
        assert chunks.sent == [] and page.evaluate("window.__recorders") == 0
    finally:
        ctx.close()
