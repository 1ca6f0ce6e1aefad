"""Live video between two aiortc peers through the real server (`python -m interfaces.cli demo`):
the candidate's aiortc publisher and a proctor's aiortc viewer speak LIVE_PROTOCOL.md over the
signaling socket; decoded frames flow, and a second viewer gets its own connection.

Run (loopback-only network namespace): ./test.sh tests/e2e/test_aiortc_live.py -q
"""

from __future__ import annotations

from typing import Any

import pytest
from aiortc_pages import attempt_of, run_async
from live_aiortc import AiortcPublisher, AiortcViewer, selected_local_types

pytestmark = pytest.mark.browser


async def _peers(live_server: Any, attempt_id: str) -> tuple[AiortcPublisher, AiortcViewer, AiortcViewer]:
    publisher = AiortcPublisher(live_server.url, attempt_id, live_server.token("candidate"))
    proctor = AiortcViewer(live_server.url, attempt_id, live_server.token("proctor"))
    supervisor = AiortcViewer(live_server.url, attempt_id, live_server.token("supervisor"))
    return publisher, proctor, supervisor


def test_aiortc_publisher_to_two_aiortc_viewers(live_server: Any) -> None:
    async def scenario(attempt_id: str) -> None:
        publisher, proctor, supervisor = await _peers(live_server, attempt_id)
        try:
            await publisher.start()
            await proctor.start()
            first = await proctor.frames_above(0, timeout=10)
            assert proctor.size == (640, 480)
            await proctor.frames_above(first + 10, timeout=10)  # the picture moves
            assert proctor.time_to_first_frame is not None and proctor.time_to_first_frame < 5
            assert selected_local_types(proctor.pc) == ["host"]

            await supervisor.start()
            await supervisor.frames_above(5, timeout=10)
            await publisher.until(lambda: publisher.connected_viewers() == 2, 10, "two viewers")
            assert proctor.gen == 0 and supervisor.gen == 0

            # the candidate leaves: the viewers hear the bye and wait with a new gen
            await publisher.close()
            await proctor.until(lambda: proctor.pc is None and proctor.gen == 1, 10, "bye handled")

            # the candidate comes back with a new page: a new connection, frames again
            again = AiortcPublisher(live_server.url, attempt_id, live_server.token("candidate"))
            await again.start()
            try:
                before = proctor.frames
                await proctor.frames_above(before + 10, timeout=10)
            finally:
                await again.close()
        finally:
            for peer in (publisher, proctor, supervisor):
                await peer.close(bye=False)

    with attempt_of(live_server) as attempt_id:
        run_async(scenario(attempt_id), 90)
