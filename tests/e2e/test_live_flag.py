"""Live video turned off (SMART_EXAM_ENABLE_LIVE_VIDEO=false): the candidate's exam page creates
no RTCPeerConnection and opens no signaling socket (the live modules are not even loaded), the
session page says live is off and creates none either, and the WS route refuses with 4503. The
recording does not depend on live: its chunks still arrive.

Run (loopback-only network namespace): ./test.sh tests/e2e/test_live_flag.py -q
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from candidate_pages import create_exam, start_exam, wait_until
from e2e_conftest import LiveServer, login, new_context, serving
from live_pages import COUNT_PEER_CONNECTIONS, LIVE_STATUS

pytestmark = pytest.mark.browser

# Opens the live socket from the page (its cookie, its Origin) and resolves to the close code.
TRY_SOCKET = """(attemptId) => new Promise((resolve) => {
  const ws = new WebSocket(`ws://${location.host}/ws/proctor/live/${attemptId}?peer=flag-test-peer`);
  ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }));
})"""


@pytest.fixture(scope="module")
def no_live_server() -> Iterator[LiveServer]:
    with serving(ENABLE_LIVE_VIDEO="false") as server:
        yield server


def test_live_off_means_no_peer_connection_and_no_socket(no_live_server: LiveServer, browser: Any) -> None:
    from playwright.sync_api import expect

    server = no_live_server
    candidate_ctx, proctor_ctx = new_context(browser), new_context(browser)
    sockets: list[str] = []
    attempt_id = ""
    try:
        for ctx in (candidate_ctx, proctor_ctx):
            ctx.add_init_script(COUNT_PEER_CONNECTIONS)
        title = create_exam(server)
        candidate = login(candidate_ctx, server, "candidate")
        candidate.on("websocket", lambda ws: sockets.append(ws.url))
        attempt_id = start_exam(candidate, server, title)
        status, attempt = server.api("GET", f"/api/attempts/{attempt_id}", token=server.token("candidate"))
        assert status == 200 and attempt["proctoring"]["liveVideo"] is False, attempt
        # everything else of proctoring runs: the camera is on and a snapshot went out
        candidate.wait_for_function("() => window.smartExamProctoring?.snapshotsSent >= 1", timeout=15_000)
        # and the server recording, which never depends on live: acknowledged chunks arrive
        held = wait_until(lambda: _chunks_held(server, attempt_id), timeout=20)
        assert held and held >= 1, held

        proctor = login(proctor_ctx, server, "proctor")
        proctor.on("websocket", lambda ws: sockets.append(ws.url))
        proctor.goto(f"{server.url}/proctor-center/session/{attempt_id}")
        expect(proctor.locator("#live-note")).to_have_text("Live video is turned off on this server.")
        expect(proctor.locator(LIVE_STATUS)).to_have_text("Offline")

        expect(candidate.get_by_test_id("live-watch-note")).to_have_count(0)
        for page in (candidate, proctor):
            assert page.evaluate("() => window.__peerConnections") == 0
            assert page.evaluate("() => typeof window.smartExamLive") == "undefined"
            loaded = page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)")
            assert not [url for url in loaded if "/static/lib/live/" in url], loaded
        assert sockets == [], sockets

        # the route itself refuses, even when asked directly with a valid session
        for page in (candidate, proctor):
            closed = page.evaluate(TRY_SOCKET, attempt_id)
            assert closed["code"] == 4503, closed
    finally:
        for ctx in (candidate_ctx, proctor_ctx):
            ctx.close()
        if attempt_id:
            server.force_end(attempt_id)


def _chunks_held(server: LiveServer, attempt_id: str) -> int:
    path = f"/api/Proctor/video-chunk/{attempt_id}/status"
    status, body = server.api("GET", path, token=server.token("proctor"))
    return sum(len(s["received"]) for s in body["segments"]) if status == 200 else 0
