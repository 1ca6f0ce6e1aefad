"""Live video across two WebRTC stacks through the real server: Chromium's pages against aiortc.

- the candidate's exam page (Chromium, fake camera) publishes, an aiortc viewer decodes 640x480;
- an aiortc publisher (the candidate, through the API) and the proctor's session page (Chromium)
  shows Live with a moving picture.

Run (loopback-only network namespace): ./test.sh tests/e2e/test_aiortc_chromium.py -q
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiortc_pages import LoopThread, attempt_of, close_all, force_end, loop_thread
from e2e_conftest import new_context
from live_aiortc import AiortcPublisher, AiortcViewer
from live_pages import (
    TIMINGS,
    candidate_publishing,
    clocked,
    frames,
    live_state,
    open_session,
    report_timings,
    wait_frames_above,
    wait_live_and_moving,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> Iterator[None]:
    yield from report_timings()


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    with loop_thread() as running:
        yield running


def test_chromium_candidate_page_to_aiortc_viewer(live_server: Any, browser: Any, loop: LoopThread) -> None:
    context = new_context(browser)
    viewer = None
    try:
        candidate, attempt_id = candidate_publishing(context, live_server)
        try:
            viewer = AiortcViewer(live_server.url, attempt_id, live_server.token("proctor"))
            loop.run(viewer.start())
            first = loop.run(viewer.frames_above(0, timeout=10), timeout=15)
            TIMINGS["aiortc_viewer_first_frame"] = viewer.time_to_first_frame or -1
            assert viewer.size == (640, 480), viewer.size
            loop.run(viewer.frames_above(first + 10, timeout=10), timeout=15)
            links = live_state(candidate)["links"]
            assert [link["state"] for link in links] == ["connected"], links
        finally:
            if viewer is not None:
                close_all(loop, viewer)
            force_end(live_server, attempt_id)
    finally:
        context.close()


def test_aiortc_publisher_to_chromium_session_page(live_server: Any, browser: Any, loop: LoopThread) -> None:
    context = new_context(browser)
    try:
        with attempt_of(live_server) as attempt_id:
            publisher = AiortcPublisher(live_server.url, attempt_id, live_server.token("candidate"))
            try:
                loop.run(publisher.start())
                page = open_session(context, live_server, attempt_id, "proctor")
                clocked("chromium_viewer_live", lambda: wait_live_and_moving(page, timeout_ms=10_000))
                width = page.evaluate("() => document.querySelector('[data-testid=live-video]').videoWidth")
                assert width == 640, width
                wait_frames_above(page, frames(page) + 10)
                assert loop.run(publisher.until(publisher.connected_viewers, 5, "a connected viewer")) == 1
            finally:
                close_all(loop, publisher)
    finally:
        context.close()
