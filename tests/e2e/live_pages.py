"""Helpers for the live-video browser tests (test_live_*.py): the candidate publishes from the
exam page, staff watch on the session page; state is read through `window.smartExamLive`
(interfaces/static/lib/live/hooks.js) and the page's own elements."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

from candidate_pages import create_exam, start_exam
from e2e_conftest import LiveServer, login
from helpers import skip_or_fail

LIVE_STATUS = "#live [data-testid=live-status]"
TIMINGS: dict[str, float] = {}

# Counts every RTCPeerConnection the page constructs (window.__peerConnections).
COUNT_PEER_CONNECTIONS = """(() => {
  window.__peerConnections = 0;
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__peerConnections += 1; }
  };
})();"""

# Frames the session page's <video> has decoded (0 before any).
FRAMES = (
    "() => { const v = document.querySelector('[data-testid=live-video]');"
    " return v && v.videoWidth > 0 ? v.getVideoPlaybackQuality().totalVideoFrames : 0; }"
)


def report_timings() -> Iterator[None]:
    yield
    if TIMINGS:
        print("\nlive timings (s): " + ", ".join(f"{k}={v:.2f}" for k, v in TIMINGS.items()))
        TIMINGS.clear()


def clocked(name: str, wait: Any) -> Any:
    start = time.monotonic()
    result = wait()
    TIMINGS[name] = time.monotonic() - start
    return result


def candidate_publishing(context: Any, server: LiveServer, title: str | None = None) -> tuple[Any, str]:
    """The demo candidate starts a fresh exam; returns (page, attemptId) once it has a welcome."""
    title = title or create_exam(server, duration=1800)
    page = login(context, server, "candidate")
    attempt_id = start_exam(page, server, title)
    wait_publisher_open(page)
    return page, attempt_id


def wait_publisher_open(page: Any, timeout_ms: int = 10_000) -> None:
    page.wait_for_function(
        "() => window.smartExamLive?.role === 'publisher' && window.smartExamLive.signaling.state === 'open'",
        timeout=timeout_ms,
    )


def open_session(context: Any, server: LiveServer, attempt_id: str, username: str = "proctor") -> Any:
    page = login(context, server, username)
    page.goto(f"{server.url}/proctor-center/session/{attempt_id}")
    return page


def wait_status(page: Any, text: str, timeout_ms: int) -> None:
    page.wait_for_function(
        "([sel, text]) => document.querySelector(sel)?.textContent === text",
        arg=[LIVE_STATUS, text],
        timeout=timeout_ms,
    )


def frames(page: Any) -> int:
    return int(page.evaluate(FRAMES))


def wait_frames_above(page: Any, count: int, timeout_ms: int = 5_000) -> int:
    """Waits until the live video decoded more than `count` frames (so the picture moves)."""
    page.wait_for_function(f"(n) => ({FRAMES})() > n", arg=count, timeout=timeout_ms)
    return frames(page)


def wait_live_and_moving(page: Any, timeout_ms: int = 5_000) -> None:
    wait_status(page, "Live", timeout_ms)
    first = wait_frames_above(page, 0, timeout_ms)
    wait_frames_above(page, first + 5, timeout_ms)


def live_state(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("() => window.smartExamLive?.snapshot() ?? null") or {})


# -- a real transport failure: UDP dropped in the test's own network namespace ----------------
NFT_TABLE = "smart_exam_live_e2e"


class UdpBlock:
    """Drops every UDP packet on this namespace's loopback (ICE and media; the WebSocket is TCP
    and keeps working). nftables inside `unshare -n` touches only the test's namespace."""

    def __init__(self) -> None:
        self.nft = shutil.which("nft")
        if self.nft is None:
            skip_or_fail("nft is missing (apt-get install nftables): needed to cut the media path")
        self.on = False

    def _run(self, *script: str) -> None:
        subprocess.run([self.nft, *script], check=True, capture_output=True, timeout=10)

    def block(self) -> None:
        self._run("add", "table", "inet", NFT_TABLE)
        self._run("add", "chain", "inet", NFT_TABLE, "out", "{ type filter hook output priority 0 ; }")
        self._run("add", "rule", "inet", NFT_TABLE, "out", "meta", "l4proto", "udp", "drop")
        self.on = True

    def unblock(self) -> None:
        if self.on:
            self._run("delete", "table", "inet", NFT_TABLE)
            self.on = False
