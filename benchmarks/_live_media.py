"""live.py, media part: the product's own pages in Debian's Chromium (fake camera), as in the e2e
tests. Per run: a new proctored attempt (API), the candidate's exam page publishes, then

  first frame   the proctor opens /proctor-center/session/{attemptId}; from the navigation start
                (performance.timeOrigin) to the first decoded frame of [data-testid=live-video]
                (page load, session data, signaling, ICE, DTLS, first keyframe: all of it);
  recovery      the viewer page's hard-reset rung is forced (smartExamLive.forceHardReset(): both
                sides drop the RTCPeerConnection and build a new one); from that call to the first
                frame decoded on the new connection (gen + 1, inbound-rtp framesDecoded > 0).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from _http import create_exam, sync_post_json

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection",
]  # fmt: skip
TIMEOUT_MS = 15_000

PUBLISHER_OPEN = (
    "() => window.smartExamLive?.role === 'publisher' && window.smartExamLive.signaling.state === 'open'"
)
FIRST_FRAME_AT = """() => {
  const v = document.querySelector('[data-testid=live-video]');
  return v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 0 ? performance.now() : 0;
}"""
# Forces the hard-reset rung, then polls (in the page, every 10 ms, at most 15 s) for a frame
# decoded on a connection of a newer gen; window.__benchRecovered = ms from the call to that.
FORCE_HARD_RESET = """() => {
  const live = window.smartExamLive;
  const gen = Math.max(...live.snapshot().links.map((l) => l.gen));
  const t0 = performance.now();
  window.__benchRecovered = 0;
  const tick = async () => {
    for (const link of live.links.values()) {
      if (link.gen <= gen || link.pc.connectionState !== 'connected') continue;
      let decoded = 0;
      (await link.pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') decoded += r.framesDecoded || 0;
      });
      if (decoded > 0) { window.__benchRecovered = performance.now() - t0; return; }
    }
    if (performance.now() - t0 < 15000) setTimeout(tick, 10);
  };
  live.forceHardReset();
  setTimeout(tick, 10);
  return gen;
}"""
RECOVERED = "() => window.__benchRecovered"


def _login(context: Any, base_url: str, username: str, password: str) -> Any:
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url, timeout=TIMEOUT_MS)
    return page


def run_media(
    base_url: str, tokens: dict[str, str], users: dict[str, str], password: str, runs: int, log: Any = print
) -> dict[str, Any]:
    """`runs` rounds of (first frame, forced hard reset -> recovered); seconds per run."""
    from playwright.sync_api import sync_playwright

    first, recovery, errors = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS, timeout=60_000)
        try:
            contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2)]
            for ctx in contexts:
                ctx.set_default_timeout(TIMEOUT_MS)
            candidate = _login(contexts[0], base_url, users["candidate"], password)
            proctor = _login(contexts[1], base_url, users["proctor"], password)
            for run in range(runs):
                attempt = ""
                try:
                    exam = create_exam(base_url, tokens["admin"], f"bench live media {run} {time.time_ns()}")
                    status, body = sync_post_json(
                        base_url, f"/api/exams/{exam}/attempts", {}, tokens["candidate"]
                    )
                    assert status in (200, 201), (status, body)
                    attempt = str(body["attemptId"])
                    candidate.goto(f"{base_url}/exam/{attempt}")
                    candidate.wait_for_function(PUBLISHER_OPEN, timeout=TIMEOUT_MS)
                    proctor.goto(f"{base_url}/proctor-center/session/{attempt}")
                    at = proctor.wait_for_function(
                        FIRST_FRAME_AT, polling="raf", timeout=TIMEOUT_MS
                    ).json_value()
                    first.append(float(at) / 1000)
                    proctor.evaluate(FORCE_HARD_RESET)
                    took = proctor.wait_for_function(RECOVERED, polling=20, timeout=TIMEOUT_MS).json_value()
                    recovery.append(float(took) / 1000)
                    log(
                        f"    run {run + 1:2d}: first frame {first[-1] * 1000:.0f} ms, "
                        f"recovered {recovery[-1] * 1000:.0f} ms"
                    )
                except Exception as exc:
                    errors.append(f"run {run + 1}: {type(exc).__name__}: {str(exc)[:300]}")
                    log(f"    run {run + 1:2d}: FAILED {errors[-1]}")
                finally:
                    if attempt:
                        sync_post_json(
                            base_url,
                            f"/api/attempt-control/{attempt}/force-end",
                            {"reason": "benchmark"},
                            tokens["admin"],
                        )
        finally:
            with contextlib.suppress(Exception):
                browser.close()
    return {"first_frame_s": first, "recovery_s": recovery, "errors": errors}
