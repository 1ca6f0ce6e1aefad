"""TURN: live video relayed by a real coturn (shared-secret credentials made by the server),
with SMART_EXAM_ICE_TRANSPORT_POLICY=relay so no host path can be used.

- two aiortc peers (publisher, viewer): frames flow, both nominated pairs are relay;
- the Chromium pages (candidate exam page publishes, proctor session page views): Live, the
  selected candidate pair of both is relay (getStats); coturn's log shows the allocations.

Run (loopback-only network namespace): ./test.sh tests/e2e/test_aiortc_turn.py -q
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiortc_pages import attempt_of, force_end, run_async
from e2e_conftest import new_context, serving
from live_aiortc import AiortcPublisher, AiortcViewer, selected_local_types
from live_pages import (
    TIMINGS,
    candidate_publishing,
    clocked,
    open_session,
    report_timings,
    wait_live_and_moving,
)
from turn_server import Coturn, running_coturn

pytestmark = pytest.mark.browser

# The local candidate type of every link's selected pair (window.smartExamLive, hooks.js).
SELECTED_LOCAL_TYPES = """async () => {
  const types = [];
  for (const link of window.smartExamLive.links.values()) {
    const stats = await link.pc.getStats();
    stats.forEach((t) => {
      if (t.type !== 'transport' || !t.selectedCandidatePairId) return;
      const pair = stats.get(t.selectedCandidatePairId);
      types.push(stats.get(pair.localCandidateId).candidateType);
    });
  }
  return types;
}"""


@pytest.fixture(scope="module")
def turn() -> Iterator[Coturn]:
    with running_coturn() as server:
        yield server


@pytest.fixture(scope="module")
def relay_server(turn: Coturn) -> Iterator[Any]:
    with serving(
        ICE_SERVERS=turn.ice_servers_json(), TURN_SECRET=turn.secret, ICE_TRANSPORT_POLICY="relay"
    ) as s:
        yield s


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> Iterator[None]:
    yield from report_timings()


def test_welcome_carries_turn_credentials_and_relay_policy(relay_server: Any, turn: Coturn) -> None:
    async def welcome(attempt_id: str) -> dict[str, Any]:
        viewer = AiortcViewer(relay_server.url, attempt_id, relay_server.token("proctor"))
        try:
            return await viewer.start()
        finally:
            await viewer.close(bye=False)

    with attempt_of(relay_server) as attempt_id:
        got = run_async(welcome(attempt_id), 20)
    assert got["iceTransportPolicy"] == "relay"
    (server,) = got["iceServers"]
    assert (
        server["urls"] == [turn.url()] and server["username"].split(":")[0].isdigit() and server["credential"]
    )


def test_two_aiortc_peers_through_coturn(relay_server: Any, turn: Coturn) -> None:
    async def scenario(attempt_id: str) -> None:
        publisher = AiortcPublisher(relay_server.url, attempt_id, relay_server.token("candidate"))
        viewer = AiortcViewer(relay_server.url, attempt_id, relay_server.token("proctor"))
        try:
            await publisher.start()
            await viewer.start()
            await viewer.frames_above(10, timeout=15)
            assert viewer.size == (640, 480)
            assert selected_local_types(viewer.pc) == ["relay"]
            ((_, pc),) = publisher.pcs.values()
            assert selected_local_types(pc) == ["relay"]
        finally:
            for peer in (publisher, viewer):
                await peer.close(bye=False)

    before = len(turn.allocations())
    with attempt_of(relay_server) as attempt_id:
        run_async(scenario(attempt_id), 60)
    assert len(turn.allocations()) >= before + 2, turn.log()[-3000:]


def test_chromium_pages_through_coturn(relay_server: Any, turn: Coturn, browser: Any) -> None:
    before = len(turn.allocations())
    candidate_ctx, proctor_ctx = new_context(browser), new_context(browser)
    attempt_id = ""
    try:
        candidate, attempt_id = candidate_publishing(candidate_ctx, relay_server)
        proctor = open_session(proctor_ctx, relay_server, attempt_id, "proctor")
        clocked("relay_live", lambda: wait_live_and_moving(proctor, timeout_ms=15_000))
        assert proctor.evaluate(SELECTED_LOCAL_TYPES) == ["relay"]
        assert candidate.evaluate(SELECTED_LOCAL_TYPES) == ["relay"]
        assert len(turn.allocations()) >= before + 2, turn.log()[-3000:]
        TIMINGS["allocations"] = len(turn.allocations()) - before
    finally:
        for ctx in (candidate_ctx, proctor_ctx):
            ctx.close()
        if attempt_id:
            force_end(relay_server, attempt_id)
