"""WS /ws/proctor/live/{attemptId}: who may join as what, how messages are routed, and every
abuse refused with its close code while the other sockets of the attempt go on."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers import wait_until
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from application.config import AppSettings
from tests.api.conftest import Api, make_api

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def _url(attempt_id: str, peer: str = "page-0001") -> str:
    return f"/ws/proctor/live/{attempt_id}?peer={peer}"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Api, str]]:
    settings = AppSettings(
        data_dir=tmp_path,
        expiry_sweep_seconds=3600,
        projection_process=False,
        allowed_origins=["https://exams.example.org"],
        ice_servers=[{"urls": "stun:127.0.0.1:3478"}, {"urls": ["turn:127.0.0.1:3478?transport=udp"]}],
        turn_secret="s3cret",
    )
    for api in make_api(settings):
        attempt = api.start(api.exam(), api.alice)["attemptId"]
        api.client.cookies.clear()  # Bearer only: the logins left the last user's cookie
        yield api, attempt


def _refused(client: TestClient, url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    with (
        client.websocket_connect(url, headers=headers or {}) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_text()
    return closed.value.code, str(closed.value.reason)


def _closed_after(ws: WebSocketTestSession, *texts: str) -> tuple[int, str]:
    with pytest.raises(WebSocketDisconnect) as closed:
        for text in texts:
            ws.send_text(text)
        while True:
            ws.receive_text()
    return closed.value.code, str(closed.value.reason)


def test_a_candidate_publishes_and_staff_view(live: tuple[Api, str]) -> None:
    api, attempt = live
    with (
        api.client.websocket_connect(_url(attempt, "candidate-page"), headers=api.alice) as page,
        api.client.websocket_connect(_url(attempt, "proctor-page"), headers=api.proctor) as viewer,
    ):
        welcome_page, welcome_viewer = page.receive_json(), viewer.receive_json()
        assert (welcome_page["role"], welcome_viewer["role"]) == ("publisher", "viewer")
        assert welcome_page["peer"] != welcome_viewer["peer"]
        viewer.send_json({"type": "hello", "gen": 3})
        assert page.receive_json() == {"type": "hello", "gen": 3, "from": welcome_viewer["peer"]}
        page.send_json({"type": "offer", "sdp": SDP, "gen": 3, "to": welcome_viewer["peer"]})
        offer = viewer.receive_json()
        assert (offer["type"], offer["sdp"], offer["from"]) == ("offer", SDP, welcome_page["peer"])
        viewer.send_json({"type": "ice", "candidate": None, "gen": 3})
        assert page.receive_json()["candidate"] is None
    # the same page (user + page id) keeps its peer id across reconnects; another user never has it
    with api.client.websocket_connect(_url(attempt, "candidate-page"), headers=api.alice) as again:
        assert again.receive_json()["peer"] == welcome_page["peer"]


def test_the_other_side_hears_a_socket_leave(live: tuple[Api, str]) -> None:
    api, attempt = live
    with api.client.websocket_connect(_url(attempt, "proctor-page"), headers=api.proctor) as viewer:
        viewer.receive_json()
        with api.client.websocket_connect(_url(attempt, "candidate-page"), headers=api.alice) as page:
            peer = page.receive_json()["peer"]
        assert viewer.receive_json() == {"type": "bye", "from": peer}


def test_welcome_carries_ice_servers_with_time_limited_turn_credentials(live: tuple[Api, str]) -> None:
    api, attempt = live
    with api.client.websocket_connect(_url(attempt), headers=api.alice) as page:
        welcome = page.receive_json()
    stun, turn = welcome["iceServers"]
    assert stun == {"urls": ["stun:127.0.0.1:3478"]} and welcome["iceTransportPolicy"] == "all"
    expiry, user = turn["username"].split(":")
    assert user == api.client.get("/api/auth/me", headers=api.alice).json()["userId"]
    assert int(expiry) > 0
    mac = hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(mac).decode()


@pytest.mark.parametrize(
    ("who", "attempt_of", "code"),
    [
        (None, "alice", 4401),  # anonymous
        ("bob", "alice", 4404),  # another candidate's attempt answers as missing
        ("proctor", "unknown", 4404),
        ("proctor", "malformed", 4400),
        ("auditor", "alice", 4403),
    ],
)
def test_who_may_not_join(live: tuple[Api, str], who: str | None, attempt_of: str, code: int) -> None:
    api, attempt = live
    target = {"alice": attempt, "unknown": "6d3c1a0e-0000-4000-8000-000000000000", "malformed": "x1"}
    headers = api.login(who) if who else {}
    assert _refused(api.client, _url(target[attempt_of]), headers)[0] == code


def test_bad_origin_and_bad_page_id_are_refused(live: tuple[Api, str]) -> None:
    api, attempt = live
    evil = {**api.proctor, "Origin": "https://evil.example"}
    assert _refused(api.client, _url(attempt), evil)[0] == 4403
    listed = {**api.proctor, "Origin": "https://exams.example.org"}
    with api.client.websocket_connect(_url(attempt), headers=listed) as ws:
        assert ws.receive_json()["type"] == "welcome"
    assert _refused(api.client, _url(attempt, "x"), api.proctor)[0] == 4400
    assert _refused(api.client, _url(attempt, "../../etc/passwd"), api.proctor)[0] == 4400


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", 4400),
        (json.dumps({"type": "teleport"}), 4400),
        (json.dumps({"type": "hello", "gen": "3"}), 4400),  # strict types
        (json.dumps({"type": "offer", "sdp": SDP, "from": "0" * 20}), 4400),  # cannot speak as another
        (json.dumps({"type": "offer", "sdp": SDP, "to": "0" * 20}), 4403),  # a viewer offers to a viewer
        (json.dumps({"type": "status", "state": "connected"}), 4403),  # only the candidate reports
        (json.dumps({"type": "hello", "pad": "x" * (1024 * 1024)}), 1009),
    ],
)
def test_a_bad_message_closes_that_socket_only(live: tuple[Api, str], text: str, code: int) -> None:
    api, attempt = live
    with (
        api.client.websocket_connect(_url(attempt, "candidate-page"), headers=api.alice) as page,
        api.client.websocket_connect(_url(attempt, "good-viewer"), headers=api.login("supervisor")) as good,
        api.client.websocket_connect(_url(attempt, "bad-viewer"), headers=api.proctor) as bad,
    ):
        page.receive_json(), good.receive_json(), bad.receive_json()
        assert _closed_after(bad, text)[0] == code
        assert page.receive_json()["type"] == "bye"  # the bad viewer left
        good.send_json({"type": "hello", "gen": 0})
        assert page.receive_json()["type"] == "hello"


def test_the_candidate_must_name_the_viewer(live: tuple[Api, str]) -> None:
    api, attempt = live
    with api.client.websocket_connect(_url(attempt), headers=api.alice) as page:
        page.receive_json()
        assert _closed_after(page, json.dumps({"type": "offer", "sdp": SDP}))[0] == 4400


def test_a_flood_is_cut_off_and_others_go_on(live: tuple[Api, str]) -> None:
    api, attempt = live
    with (
        api.client.websocket_connect(_url(attempt, "candidate-page"), headers=api.alice) as page,
        api.client.websocket_connect(_url(attempt, "flooding-viewer"), headers=api.proctor) as flood,
    ):
        page.receive_json(), flood.receive_json()
        hello = json.dumps({"type": "hello", "gen": 0})
        code, reason = _closed_after(flood, *[hello] * 1000)
        assert code == 4429 and "too many" in reason
        with api.client.websocket_connect(_url(attempt, "calm-viewer"), headers=api.proctor) as calm:
            calm.receive_json()
            calm.send_json({"type": "hello", "gen": 9})
            relayed = 0  # what got through before the cut, then the flooder's bye, then the calm hello
            while (message := page.receive_json()).get("gen") != 9:
                relayed += message["type"] == "hello"
                assert relayed < 1000
            assert message["type"] == "hello" and 200 <= relayed < 1000


def test_live_state_is_recorded_as_connectivity(live: tuple[Api, str]) -> None:
    api, attempt = live
    with api.client.websocket_connect(_url(attempt), headers=api.alice) as page:
        page.receive_json()
        page.send_json({"type": "status", "state": "connected"})
        wait_until(lambda: _live_items(api, attempt) == ["live_connected"], timeout=5)
    wait_until(lambda: _live_items(api, attempt) == ["live_connected", "live_lost"], timeout=5)
    detail = api.client.get(f"/api/Proctor/sessions/{attempt}", headers=api.proctor).json()
    assert detail["session"]["liveStatus"] == "Offline" and detail["session"]["riskScore"] == 0


def test_a_lost_said_just_before_leaving_is_recorded(live: tuple[Api, str]) -> None:
    """The page says "lost" within the rate-limit wait of its "connected", then its socket goes."""
    api, attempt = live
    with api.client.websocket_connect(_url(attempt), headers=api.alice) as page:
        page.receive_json()
        page.send_json({"type": "status", "state": "connected"})
        wait_until(lambda: _live_items(api, attempt) == ["live_connected"], timeout=5)
        page.send_json({"type": "status", "state": "lost"})
    wait_until(lambda: _live_items(api, attempt) == ["live_connected", "live_lost"], timeout=5)


def _live_items(api: Api, attempt: str) -> list[str]:
    items = api.client.get(f"/api/Proctor/timeline/{attempt}", headers=api.proctor).json()
    return [i["kind"] for i in items if i["kind"].startswith("live_") and i["category"] == "connectivity"]


def test_an_ended_attempt_has_nothing_live(live: tuple[Api, str]) -> None:
    api, attempt = live
    assert api.client.post(f"/api/attempts/{attempt}/submit", headers=api.alice).status_code == 200
    assert _refused(api.client, _url(attempt), api.proctor)[0] == 4409


def test_live_video_off_refuses(tmp_path: Path) -> None:
    settings = AppSettings(data_dir=tmp_path, projection_process=False, enable_live_video=False)
    for api in make_api(settings):
        attempt = api.start(api.exam(), api.alice)["attemptId"]
        code, reason = _refused(api.client, _url(attempt), api.alice)
        assert code == 4503 and "turned off" in reason
