"""Live video rules without I/O: message routing, TURN REST credentials, the ICE settings, the
recorded live state (transitions only, rate-limited) and a socket's message budget."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import pytest
from pydantic import ValidationError

from application.access import Actor
from application.config import AppSettings, IceServer
from application.live import (
    PUBLISHER,
    VIEWER,
    LiveQuality,
    LiveSeat,
    check_route,
    ice_configuration,
    peer_id,
    turn_credentials,
)
from domain.errors import InvalidInput, PermissionDenied
from interfaces.throttle import MessageBudget

CANDIDATE = Actor(uuid.uuid4(), "candidate")
PROCTOR = Actor(uuid.uuid4(), "proctor")


def _seat(role: str, actor: Actor) -> LiveSeat:
    return LiveSeat(uuid.uuid4(), role, peer_id(actor, "page-0001"), actor)


def test_a_viewer_speaks_only_to_the_candidate_page() -> None:
    viewer = _seat(VIEWER, PROCTOR)
    for kind in ("hello", "offer", "answer", "ice", "restart", "bye"):
        check_route(viewer, kind, None)
    with pytest.raises(PermissionDenied):
        check_route(viewer, "offer", "0" * 20)
    with pytest.raises(PermissionDenied):
        check_route(viewer, "status", None)


def test_the_candidate_page_names_its_viewer() -> None:
    page = _seat(PUBLISHER, CANDIDATE)
    check_route(page, "hello", None)
    check_route(page, "bye", None)
    check_route(page, "status", None)
    check_route(page, "offer", "0" * 20)
    for kind in ("offer", "answer", "ice", "restart"):
        with pytest.raises(InvalidInput):
            check_route(page, kind, None)


def test_peer_ids_are_bound_to_the_user() -> None:
    assert peer_id(CANDIDATE, "page-0001") == peer_id(CANDIDATE, "page-0001")
    assert peer_id(CANDIDATE, "page-0001") != peer_id(PROCTOR, "page-0001")


def test_turn_credentials_are_coturns_use_auth_secret_format() -> None:
    made = turn_credentials("secret", "user-1", 1_800_000_000)
    assert made["username"] == "1800000000:user-1"
    expected = hmac.new(b"secret", b"1800000000:user-1", hashlib.sha1).digest()
    assert base64.b64decode(made["credential"]) == expected


def test_ice_configuration_adds_credentials_only_to_turn_without_a_username() -> None:
    settings = AppSettings(
        ice_servers=[
            IceServer(urls=["stun:stun.example.org:3478"]),
            IceServer(urls=["turn:turn.example.org:3478"]),
            IceServer(urls=["turn:fixed.example.org"], username="u", credential="c"),
        ],
        turn_secret="s",
        turn_ttl_seconds=600,
        ice_transport_policy="relay",
    )
    config = ice_configuration(settings, CANDIDATE, 1000.0)
    stun, turn, fixed = config["iceServers"]
    assert stun == {"urls": ["stun:stun.example.org:3478"]}
    assert turn["username"] == f"1600:{CANDIDATE.user_id}" and turn["credential"]
    assert fixed == {"urls": ["turn:fixed.example.org"], "username": "u", "credential": "c"}
    assert config["iceTransportPolicy"] == "relay"


def test_ice_servers_setting_is_typed() -> None:
    assert IceServer.model_validate({"urls": "stun:a:1"}).urls == ["stun:a:1"]
    for bad in ({"urls": "http://a"}, {"urls": []}, {"urls": "stun:a", "password": "x"}):
        with pytest.raises(ValidationError):
            IceServer.model_validate(bad)


def test_live_state_records_transitions_at_most_every_few_seconds() -> None:
    quality = LiveQuality(every=3.0)
    attempt = uuid.uuid4()
    assert quality.decide(attempt, "connected", 100.0) == 0.0
    assert quality.decide(attempt, "connected", 100.5) is None  # no change: nothing to record
    assert quality.decide(attempt, "reconnecting", 101.0) == pytest.approx(2.0)  # wait, then ask again
    assert quality.decide(attempt, "reconnecting", 103.0) == 0.0
    assert quality.recorded(attempt) == "reconnecting"
    quality.forget(attempt)
    assert quality.recorded(attempt) is None


def test_message_budget_allows_a_burst_then_a_rate() -> None:
    budget = MessageBudget(burst=5, per_second=2.0)
    assert all(budget.take(10.0) for _ in range(5))
    assert not budget.take(10.0)
    assert budget.take(10.5)  # one token back after half a second
    assert not budget.take(10.5)
