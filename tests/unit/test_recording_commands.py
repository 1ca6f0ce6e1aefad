"""Chunk upload commands on an in-memory store with a fake clock: who may upload, when a
recording stops taking chunks, batches (new, duplicate, conflict, gone, racing creators), status;
and the final-chunk rules of the Recording aggregate."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from fakes import EPOCH, FakeClock
from recording_world import World, events_of, make_world

from application import attempts, recordings
from application.finalize import close_recording
from domain.errors import Conflict, Gone, NotFound, PermissionDenied
from domain.recordings import DUPLICATE, NEW, PROCESSING, Recording
from projections.timeline_recording import clock_time, failed_label, ready_label

LEASE = timedelta(minutes=5)
EPOCH_ID = uuid4()


@pytest.fixture
def w(tmp_path: Path, clock: FakeClock) -> World:
    return make_world({"PERSISTENCE_MODULE": "eventsourcing.popo"}, tmp_path, clock)


def test_only_the_owner_of_a_proctored_attempt_may_upload(w: World) -> None:
    attempt_id = w.start(0)
    with pytest.raises(NotFound):  # another candidate's attempt looks missing (no enumeration)
        recordings.chunk_recording(w.app, w.candidates[1], attempt_id)
    with pytest.raises(PermissionDenied):
        recordings.chunk_recording(w.app, w.proctor, attempt_id)
    with pytest.raises(NotFound, match="attempt"):
        recordings.chunk_recording(w.app, w.candidates[0], w.proctored)  # not an attempt id
    with pytest.raises(NotFound, match="not proctored"):
        recordings.chunk_recording(w.app, w.candidates[0], w.start(0, w.open_book))
    w.app.video_recording = False
    with pytest.raises(NotFound, match="disabled"):
        recordings.chunk_recording(w.app, w.candidates[0], attempt_id)


def test_the_first_chunk_creates_the_recording_and_the_same_bytes_again_make_no_event(w: World) -> None:
    attempt_id = w.start()
    fresh = recordings.chunk_recording(w.app, w.candidates[0], attempt_id)
    assert fresh.version == 1 and events_of(w.app, attempt_id) == []  # nothing saved before a chunk
    assert w.send(attempt_id, 0, 0, b"abc") == NEW
    assert w.send(attempt_id, 0, 0, b"abc") == DUPLICATE
    assert events_of(w.app, attempt_id) == ["RecordingStarted", "ChunkReceived"]
    with pytest.raises(Conflict, match="other bytes"):
        w.send(attempt_id, 0, 0, b"abd")
    assert events_of(w.app, attempt_id) == ["RecordingStarted", "ChunkReceived"]


def test_a_batch_records_in_one_go_and_reports_each_file(w: World) -> None:
    a, b = w.start(0), w.start(1)
    w.send(a, 0, 0, b"a0")
    batch = [
        w.chunk(a, 0, 1, b"a1"), w.chunk(a, 0, 2, b"a2"), w.chunk(a, 0, 0, b"a0"),
        w.chunk(a, 0, 0, b"other"), w.chunk(b, 0, 0, b"b0", candidate=1),
    ]  # fmt: skip
    position = w.app.position()
    results = recordings.record_chunks(w.app, batch)
    assert results[:3] == [NEW, NEW, DUPLICATE]
    assert isinstance(results[3], Conflict) and results[4] == NEW
    assert w.app.position() == position + 4  # a1, a2, b's start + b0: one transaction
    assert w.recording(a).chunk_paths(0) == [
        f"video-recordings/{a}/chunks/000-00000{i}.mkv" for i in range(3)
    ]


def test_racing_creators_one_wins_the_other_decides_again(w: World) -> None:
    attempt_id = w.start()
    first, second = w.chunk(attempt_id, 0, 0, b"x"), w.chunk(attempt_id, 0, 1, b"y")
    assert first.recording is not second.recording  # both think they create it
    assert recordings.record_chunks(w.app, [first]) == [NEW]
    assert recordings.record_chunks(w.app, [second]) == [NEW]  # version 1 taken: decided again
    assert events_of(w.app, attempt_id) == ["RecordingStarted", "ChunkReceived", "ChunkReceived"]


def test_a_stale_copy_is_decided_again_on_the_stored_recording(w: World) -> None:
    attempt_id = w.start()
    w.send(attempt_id, 0, 0)
    stale = w.chunk(attempt_id, 0, 1)
    w.send(attempt_id, 0, 2)  # saved meanwhile: the stale copy's version is taken
    assert recordings.record_chunks(w.app, [stale]) == [NEW]
    assert sorted(w.recording(attempt_id).received()[0]) == [0, 1, 2]


def test_an_ended_attempt_takes_chunks_until_finalization_began_then_gone(w: World) -> None:
    attempt_id = w.start()
    w.send(attempt_id, 0, 0)
    attempts.submit(w.app, w.candidates[0], attempt_id)
    assert close_recording(w.app, attempt_id, "submitted", EPOCH) is True
    assert close_recording(w.app, attempt_id, "submitted", EPOCH) is False  # idempotent
    pending = w.chunk(attempt_id, 0, 2)  # authorized before the claim, recorded after it
    assert w.send(attempt_id, 0, 1, final=True) == NEW  # the last chunk, sent after submit
    recording = w.recording(attempt_id)
    recording.start_finalization("w1", w.clock.now(), LEASE)
    w.app.commit(recording)
    with pytest.raises(Gone):
        w.send(attempt_id, 0, 1)
    assert isinstance(recordings.record_chunks(w.app, [pending])[0], Gone)
    with pytest.raises(Gone):
        recordings.chunk_recording(w.app, w.candidates[0], attempt_id)


def test_a_first_chunk_after_the_attempt_ended_makes_a_closed_recording(w: World) -> None:
    attempt_id = w.start()
    w.clock.advance(30)
    ended = attempts.submit(w.app, w.candidates[0], attempt_id).ended_at
    assert close_recording(w.app, attempt_id, "submitted", EPOCH) is False  # nothing to close yet
    w.clock.advance(2)
    w.send(attempt_id, 0, 0)
    recording = w.recording(attempt_id)
    assert (recording.status, recording.closed_at, recording.close_reason) == (PROCESSING, ended, "submitted")


def test_status_per_segment_for_the_owner_and_staff(w: World) -> None:
    attempt_id = w.start()
    assert recordings.chunk_status(w.app, w.candidates[0], attempt_id) == []
    for seq in (0, 1, 3):
        w.send(attempt_id, 0, seq)
    w.send(attempt_id, 1, 0, final=True)
    expected = [
        {"segment": 0, "received": [0, 1, 3], "missing": [2], "highest_contiguous": 1, "final": False},
        {"segment": 1, "received": [0], "missing": [], "highest_contiguous": 0, "final": True},
    ]
    assert recordings.chunk_status(w.app, w.candidates[0], attempt_id) == expected
    assert recordings.chunk_status(w.app, w.proctor, attempt_id) == expected
    with pytest.raises(NotFound):  # another candidate's attempt looks missing (no enumeration)
        recordings.chunk_status(w.app, w.candidates[1], attempt_id)


# -- the final chunk (domain) ---------------------------------------------------------------------
def test_a_final_chunk_ends_its_segment() -> None:
    rec = Recording(attempt_id=EPOCH_ID, chunk_seconds=3.0, started_at=EPOCH)
    digest = "a" * 64
    rec.receive_chunk(0, 0, 1, digest, "video/webm", EPOCH, "p0")
    rec.receive_chunk(0, 2, 1, digest, "video/webm", EPOCH, "p2", final=True)
    assert not rec.all_segments_final  # seq 1 is missing
    with pytest.raises(Conflict, match="ended with chunk 2"):
        rec.receive_chunk(0, 3, 1, digest, "video/webm", EPOCH, "p3")
    with pytest.raises(Conflict, match="cannot be its last"):
        rec.receive_chunk(0, 1, 1, digest, "video/webm", EPOCH, "p1", final=True)
    rec.receive_chunk(0, 1, 1, digest, "video/webm", EPOCH, "p1")
    assert rec.all_segments_final
    rec.receive_chunk(1, 0, 1, digest, "video/webm", EPOCH, "q0")  # a new recorder session
    assert not rec.all_segments_final


def test_is_due_after_the_grace_or_at_once_when_every_segment_ended() -> None:
    grace = timedelta(seconds=30)
    rec = Recording(attempt_id=EPOCH_ID, chunk_seconds=3.0, started_at=EPOCH)
    rec.receive_chunk(0, 0, 1, "a" * 64, "video/webm", EPOCH, "p0")
    assert not rec.is_due(EPOCH + grace * 10, grace)  # still open
    rec.close("submitted", EPOCH)
    assert not rec.is_due(EPOCH + grace / 2, grace) and rec.is_due(EPOCH + grace, grace)
    rec.receive_chunk(0, 1, 1, "b" * 64, "video/webm", EPOCH, "p1", final=True)
    assert rec.is_due(EPOCH, grace)
    rec.start_finalization("w1", EPOCH, LEASE)
    assert not rec.is_due(EPOCH + LEASE / 2, grace) and rec.is_due(EPOCH + LEASE, grace)
    rec.fail("w1", "broken", EPOCH + LEASE / 2)
    assert rec.retry_after is not None
    assert not rec.is_due(rec.retry_after - timedelta(seconds=1), grace) and rec.is_due(
        rec.retry_after, grace
    )


def test_timeline_labels() -> None:
    assert [clock_time(s) for s in (0, 12.9, 75, 3725)] == ["00:00", "00:12", "01:15", "62:05"]
    reason = "line one\n[mkv] Invalid data found\n\n"
    assert failed_label(reason) == "Recording failed: [mkv] Invalid data found"
    assert ready_label(74.6) == "Recording ready (01:15)"
