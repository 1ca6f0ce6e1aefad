"""Proctor session rules: evidence while active, nothing once ended; client event types."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from domain_builders import PROCTOR, new_session
from fakes import EPOCH

from domain.errors import Conflict
from domain.proctoring import (
    CLIENT_EVENT_TYPES,
    CONDUCT_EVENT_TYPES,
    CONNECTIVITY_EVENT_TYPES,
)


def test_session_collects_evidence_while_active() -> None:
    session = new_session()
    assert session.status == "Active" and session.ended_at is None
    session.take_snapshot(uuid4(), "proctor-snapshots/x.jpg", 1234, EPOCH)
    session.take_snapshot(uuid4(), "proctor-snapshots/y.jpg", 1234, EPOCH)
    session.record_event("tab_hidden", "", EPOCH)
    session.flag(PROCTOR, "look", EPOCH)
    session.warn(PROCTOR, "eyes on screen", EPOCH)
    assert session.snapshot_count == 2
    assert [type(e).__name__ for e in session.collect_events()] == [
        "SessionStarted", "SnapshotTaken", "SnapshotTaken", "ProctorEventRecorded", "Flagged",
        "Warned",
    ]  # fmt: skip


@pytest.mark.parametrize("ending", ["complete", "cancel"])
def test_an_ended_session_accepts_nothing(ending: str) -> None:
    session = new_session()
    at = EPOCH + timedelta(seconds=9)
    if ending == "complete":
        session.complete("submitted", at)
        assert session.status == "Completed"
    else:
        session.cancel(PROCTOR, "terminated", at)
        assert session.status == "Cancelled"
    assert session.ended_at == at
    version = session.version
    for command in (
        lambda: session.take_snapshot(uuid4(), "p", 1, EPOCH),
        lambda: session.record_event("tab_hidden", "", EPOCH),
        lambda: session.flag(PROCTOR, "n", EPOCH),
        lambda: session.warn(PROCTOR, "m", EPOCH),
        lambda: session.complete("again", EPOCH),
        lambda: session.cancel(PROCTOR, "again", EPOCH),
    ):
        with pytest.raises(Conflict):
            command()
    assert (session.version, session.ended_at) == (version, at)


def test_client_event_types_split_conduct_from_connectivity() -> None:
    assert not CONDUCT_EVENT_TYPES & CONNECTIVITY_EVENT_TYPES
    assert CLIENT_EVENT_TYPES == CONDUCT_EVENT_TYPES | CONNECTIVITY_EVENT_TYPES
    assert {"camera_denied", "camera_restored", "tab_hidden"} <= CONDUCT_EVENT_TYPES
    assert {"snapshot_upload_failed", "live_connected", "live_lost"} <= CONNECTIVITY_EVENT_TYPES
