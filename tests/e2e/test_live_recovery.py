"""Live video recovers from what breaks it, in real Chromium against the real server:

- the server restarts (its process stopped, started again on the same port): both pages
  reconnect their signaling sockets, the picture keeps flowing (the media never passed through
  the server) and stays Live;
- a REAL transport failure: every UDP packet in the test's own network namespace is dropped
  with nftables (the WebSocket is TCP and stays up) ⇒ Reconnecting, then Live again through the
  ICE-restart rung, on the same connection;
- the hard-reset rung: the same failure with the ICE-restart rung switched off through the test
  hook (`smartExamLive.ladder.skipIceRestart`) ⇒ a new connection (gen + 1), then Live; and the
  hooks that force each rung without any failure.

Needs `nft` (Debian package nftables) for the transport failure.
Run (loopback-only network namespace): ./test.sh tests/e2e/test_live_recovery.py -q
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from candidate_pages import timeline_kinds, wait_until
from e2e_conftest import new_context
from live_pages import (
    TIMINGS,
    UdpBlock,
    candidate_publishing,
    clocked,
    frames,
    live_state,
    open_session,
    report_timings,
    wait_frames_above,
    wait_live_and_moving,
    wait_status,
)

pytestmark = pytest.mark.browser

# The ladder's own timings (interfaces/static/lib/live/peer.js) plus Chromium's: `disconnected`
# comes ≈7 s after the path is cut; the ICE restart 2 s later; a hard reset 8 s after that.
RECONNECTING_WITHIN_MS = 15_000
RUNG_WITHIN_MS = 15_000
LIVE_AGAIN_WITHIN_MS = 10_000


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> Iterator[None]:
    yield from report_timings()


@pytest.fixture
def udp_block() -> Iterator[UdpBlock]:
    block = UdpBlock()
    try:
        yield block
    finally:
        block.unblock()


@pytest.fixture
def watched(live_server: Any, browser: Any) -> Iterator[tuple[Any, Any, str]]:
    """(candidate page, proctor page, attemptId), Live and moving."""
    candidate_ctx, proctor_ctx = new_context(browser), new_context(browser)
    attempt_id = ""
    try:
        candidate, attempt_id = candidate_publishing(candidate_ctx, live_server)
        proctor = open_session(proctor_ctx, live_server, attempt_id)
        wait_live_and_moving(proctor)
        yield candidate, proctor, attempt_id
    finally:
        for ctx in (candidate_ctx, proctor_ctx):
            ctx.close()
        if attempt_id:
            live_server.force_end(attempt_id)


def _counter(page: Any, name: str) -> int:
    return int(live_state(page)["counters"].get(name, 0))


def _wait_counter(page: Any, name: str, above: int, timeout_ms: int) -> None:
    page.wait_for_function(
        "([name, n]) => (window.smartExamLive.counters[name] || 0) > n", arg=[name, above], timeout=timeout_ms
    )


def test_server_restart_keeps_the_picture(live_server: Any, watched: tuple[Any, Any, str]) -> None:
    candidate, proctor, _ = watched
    opens = {"candidate": live_state(candidate)["opens"], "proctor": live_state(proctor)["opens"]}
    before = frames(proctor)
    live_server.stop()
    # the media path is page to page: frames go on while the server is away
    wait_frames_above(proctor, before + 10, timeout_ms=5_000)
    started = time.monotonic()
    live_server.start()
    TIMINGS["server_start"] = time.monotonic() - started
    for name, page in (("candidate", candidate), ("proctor", proctor)):
        clocked(
            f"{name}_signaling_back",
            lambda page=page, name=name: page.wait_for_function(
                "(n) => window.smartExamLive.signaling.state === 'open'"
                " && window.smartExamLive.signaling.opens > n",
                arg=opens[name],
                timeout=15_000,
            ),
        )
    wait_status(proctor, "Live", 5_000)
    wait_frames_above(proctor, frames(proctor) + 10)
    state = live_state(proctor)
    assert state["links"][0]["gen"] == 0, f"the connection should have survived the restart: {state}"
    # and signaling works again: a forced hard reset needs hello/offer/answer through the server
    proctor.evaluate("() => window.smartExamLive.forceHardReset()")
    clocked("live_after_forced_reset", lambda: wait_live_and_moving(proctor, timeout_ms=LIVE_AGAIN_WITHIN_MS))
    assert live_state(proctor)["links"][0]["gen"] == 1


def _reconnected_on_timeline(live_server: Any, attempt_id: str) -> list[str] | None:
    kinds = timeline_kinds(live_server, attempt_id)
    if "live_reconnecting" not in kinds:
        return None
    last = len(kinds) - 1 - kinds[::-1].index("live_reconnecting")
    return kinds if "live_connected" in kinds[last:] else None


def test_udp_cut_recovers_through_ice_restart(
    live_server: Any, watched: tuple[Any, Any, str], udp_block: UdpBlock
) -> None:
    candidate, proctor, attempt_id = watched
    pages = (candidate, proctor)
    restarts = [_counter(p, "iceRestarts") for p in pages]
    udp_block.block()
    cut = time.monotonic()
    wait_status(proctor, "Reconnecting", RECONNECTING_WITHIN_MS)
    TIMINGS["ice_cut_to_reconnecting"] = time.monotonic() - cut
    # keep the path cut until one side took the ICE-restart rung, then let packets through
    deadline = time.monotonic() + RUNG_WITHIN_MS / 1000
    while not any(_counter(p, "iceRestarts") > n for p, n in zip(pages, restarts, strict=True)):
        assert time.monotonic() < deadline, f"no ICE restart: {live_state(candidate)} {live_state(proctor)}"
        proctor.wait_for_timeout(100)
    TIMINGS["ice_cut_to_restart"] = time.monotonic() - cut
    udp_block.unblock()
    back = time.monotonic()
    wait_live_and_moving(proctor, timeout_ms=LIVE_AGAIN_WITHIN_MS)
    TIMINGS["ice_restart_to_live"] = time.monotonic() - back
    for page in pages:
        state = live_state(page)
        assert state["links"][0]["gen"] == 0, f"the ICE restart should have saved the connection: {state}"
        assert not state["counters"].get("hardResets"), state
    # the candidate's page reported it: reconnecting, then connected again (Network items)
    kinds = wait_until(lambda: _reconnected_on_timeline(live_server, attempt_id), timeout=10)
    assert kinds, timeline_kinds(live_server, attempt_id)


def test_hard_reset_rung(watched: tuple[Any, Any, str], udp_block: UdpBlock) -> None:
    candidate, proctor, _ = watched
    # the hooks first: each rung on demand, no failure needed
    assert proctor.evaluate("() => window.smartExamLive.forceIceRestart()") == [True]
    wait_frames_above(proctor, frames(proctor) + 10)
    proctor.evaluate("() => window.smartExamLive.forceHardReset()")
    clocked("forced_reset_to_live", lambda: wait_live_and_moving(proctor, timeout_ms=LIVE_AGAIN_WITHIN_MS))
    gen = live_state(proctor)["links"][0]["gen"]
    assert gen == 1, live_state(proctor)

    # then a real cut with the ICE-restart rung switched off on both pages
    for page in (candidate, proctor):
        page.evaluate("() => { window.smartExamLive.ladder.skipIceRestart = true; }")
    udp_block.block()
    cut = time.monotonic()
    wait_status(proctor, "Reconnecting", RECONNECTING_WITHIN_MS)
    proctor.wait_for_function(
        "(g) => window.smartExamLive.owner.gen > g",  # the viewer moved to a new connection
        arg=gen,
        timeout=RUNG_WITHIN_MS,
    )
    TIMINGS["hard_cut_to_reset"] = time.monotonic() - cut
    udp_block.unblock()
    back = time.monotonic()
    wait_live_and_moving(proctor, timeout_ms=LIVE_AGAIN_WITHIN_MS)
    TIMINGS["hard_reset_to_live"] = time.monotonic() - back
    state = live_state(proctor)
    assert state["links"][0]["gen"] > gen, state
    assert not any(_counter(p, "iceRestarts") > 1 for p in (candidate, proctor)), "the ICE rung was skipped"
    assert _counter(proctor, "iceRestartsSkipped") + _counter(candidate, "iceRestartsSkipped") >= 1
