"""The Recording aggregate: chunk decisions, closing, the finalization lease, status, deletion,
and a snapshot that restores exactly what replay builds. No I/O."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.utils import get_topic
from fakes import EPOCH

from domain import ids
from domain.errors import Conflict, Gone, InvalidInput
from domain.recordings import (
    DELETED,
    DUPLICATE,
    FAILED,
    NEW,
    PROCESSING,
    READY,
    RECORDING,
    Recording,
    retry_delay,
)

ATTEMPT = uuid4()
MKV = "video/x-matroska;codecs=avc1,opus"
LEASE = timedelta(minutes=10)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_recording() -> Recording:
    return Recording(attempt_id=ATTEMPT, chunk_seconds=3.0, started_at=EPOCH)


def send(
    rec: Recording, segment: int, seq: int, data: bytes | None = None, after: float | None = None
) -> str:
    data = data if data is not None else f"chunk {segment}/{seq}".encode()
    at = EPOCH + timedelta(seconds=after if after is not None else 3.0 * (seq + 1))
    path = f"chunks/{segment:03d}-{seq:06d}.mkv"
    return rec.receive_chunk(segment, seq, len(data), sha(data), MKV, at, path)


def finalized(rec: Recording, worker: str = "w1") -> Recording:
    rec.finalize(worker, "recording.mp4", 9.0, 1234, sha(b"mp4"), "remux", {0: 9.0}, EPOCH)
    return rec


def test_id_is_derived_from_the_attempt() -> None:
    rec = new_recording()
    assert rec.id == ids.recording_id(ATTEMPT) != ids.proctor_session_id(ATTEMPT)
    assert Recording.TOPIC == "smart_exam.Recording"
    assert get_topic(Recording.ChunkReceived) == "smart_exam.Recording.ChunkReceived"
    assert get_topic(Recording.RecordingFinalized) == "smart_exam.Recording.RecordingFinalized"


def test_a_new_chunk_is_recorded_once_and_the_same_bytes_again_are_a_duplicate() -> None:
    rec = new_recording()
    assert send(rec, 0, 0, b"abc") == NEW
    pending = len(rec.collect_events())
    assert send(rec, 0, 0, b"abc") == DUPLICATE
    assert rec.collect_events() == []
    assert pending == 2  # RecordingStarted + ChunkReceived
    assert rec.total_bytes == 3


def test_other_bytes_for_a_held_chunk_conflict() -> None:
    rec = new_recording()
    send(rec, 0, 0, b"abc")
    with pytest.raises(Conflict):
        send(rec, 0, 0, b"abd")
    assert rec.chunk_paths(0) == ["chunks/000-000000.mkv"]


@pytest.mark.parametrize(
    ("segment", "seq", "digest", "size"),
    [(-1, 0, "a" * 64, 1), (0, -1, "a" * 64, 1), (1000, 0, "a" * 64, 1), (0, 1_000_000, "a" * 64, 1),
     (0, 0, "A" * 64, 1), (0, 0, "a" * 63, 1), (0, 0, "a" * 64, 0)],
)  # fmt: skip
def test_bad_segment_seq_digest_or_size_is_invalid(segment: int, seq: int, digest: str, size: int) -> None:
    rec = new_recording()
    with pytest.raises(InvalidInput):
        rec.receive_chunk(segment, seq, size, digest, MKV, EPOCH, "p")
    assert rec.chunks == {}


def test_a_segment_keeps_one_mime() -> None:
    rec = new_recording()
    send(rec, 0, 0)
    with pytest.raises(InvalidInput):
        rec.receive_chunk(0, 1, 3, sha(b"xyz"), "video/webm;codecs=vp8,opus", EPOCH, "p")
    rec.receive_chunk(1, 0, 3, sha(b"xyz"), "video/webm;codecs=vp8,opus", EPOCH, "p")


def test_chunks_are_accepted_after_close_until_finalization_begins_then_gone() -> None:
    rec = new_recording()
    send(rec, 0, 0)
    assert rec.close("submitted", EPOCH) is True
    assert rec.close("expired", EPOCH) is False  # idempotent: the first reason stands
    assert rec.close_reason == "submitted"
    assert send(rec, 0, 1) == NEW  # the closing chunk, still on its way
    rec.start_finalization("w1", EPOCH, LEASE)
    with pytest.raises(Gone):
        send(rec, 0, 2)
    with pytest.raises(Gone):
        send(rec, 0, 0)  # even the same bytes again: the recording takes nothing more


def test_close_reason_must_be_known() -> None:
    with pytest.raises(InvalidInput):
        new_recording().close("bored", EPOCH)


def test_status_runs_recording_processing_ready_deleted() -> None:
    rec = new_recording()
    send(rec, 0, 0)
    assert rec.status == RECORDING
    rec.close("submitted", EPOCH)
    assert rec.status == PROCESSING
    rec.start_finalization("w1", EPOCH, LEASE)
    assert rec.status == PROCESSING
    finalized(rec)
    assert rec.status == READY and rec.is_ready
    assert rec.result is not None and rec.result["codec_path"] == "remux"
    assert rec.result["segments"][0]["video_offset_seconds"] == 0.0
    rec.delete(None, "retention", EPOCH)
    assert rec.status == DELETED
    with pytest.raises(Gone):
        send(rec, 1, 0)


def test_claiming_needs_a_closed_unfinished_recording() -> None:
    rec = new_recording()
    send(rec, 0, 0)
    with pytest.raises(Conflict, match="open"):
        rec.start_finalization("w1", EPOCH, LEASE)
    rec.close("expired", EPOCH)
    rec.start_finalization("w1", EPOCH, LEASE)
    finalized(rec)
    with pytest.raises(Conflict):
        rec.start_finalization("w2", EPOCH + LEASE * 2, LEASE)


def test_a_fresh_lease_of_another_worker_conflicts_an_expired_one_can_be_claimed() -> None:
    rec = new_recording()
    send(rec, 0, 0)
    rec.close("submitted", EPOCH)
    rec.start_finalization("w1", EPOCH, LEASE)
    with pytest.raises(Conflict, match="w1"):
        rec.start_finalization("w2", EPOCH + LEASE - timedelta(seconds=1), LEASE)
    rec.start_finalization("w2", EPOCH + LEASE, LEASE)  # w1 crashed: its lease ran out
    assert (rec.lease_worker, rec.attempts) == ("w2", 2)
    with pytest.raises(Conflict, match="does not hold"):
        finalized(rec, worker="w1")  # the crashed worker's late result is refused
    finalized(rec, worker="w2")
    assert rec.status == READY


def test_failure_releases_the_lease_and_backs_off() -> None:
    rec = new_recording()
    send(rec, 0, 0)
    rec.close("submitted", EPOCH)
    rec.start_finalization("w1", EPOCH, LEASE)
    retry_after = rec.fail("w1", "ffmpeg said: Invalid data found", EPOCH)
    assert rec.status == FAILED and retry_after == EPOCH + retry_delay(1)
    with pytest.raises(Gone):
        send(rec, 0, 1)
    with pytest.raises(Conflict, match="retried after"):
        rec.start_finalization("w2", EPOCH, LEASE)
    rec.start_finalization("cli", EPOCH, LEASE, ignore_backoff=True)  # by hand
    assert rec.status == PROCESSING
    assert rec.fail("cli", "again", EPOCH) == EPOCH + retry_delay(2)
    rec.start_finalization("w2", EPOCH + retry_delay(2), LEASE)
    assert rec.attempts == 3


def test_retry_delay_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(50) == timedelta(hours=1)


def test_deletion_only_when_ready_or_failed() -> None:
    rec = new_recording()
    send(rec, 0, 0)
    with pytest.raises(Conflict):
        rec.delete(None, "retention", EPOCH)  # still recording
    rec.close("submitted", EPOCH)
    with pytest.raises(Conflict):
        rec.delete(None, "retention", EPOCH)  # waiting to be finalized
    rec.start_finalization("w1", EPOCH, LEASE)
    with pytest.raises(Conflict):
        rec.delete(None, "retention", EPOCH)  # finalizing
    rec.fail("w1", "broken", EPOCH)
    by = uuid4()
    rec.delete(by, "admin request", EPOCH)
    assert rec.status == DELETED
    with pytest.raises(Conflict):
        rec.delete(by, "twice", EPOCH)


def test_status_queries_per_segment() -> None:
    rec = new_recording()
    for seq in (0, 1, 2, 5):
        send(rec, 0, seq)
    for seq in (1, 2):
        send(rec, 1, seq)
    assert rec.segment_status() == [
        {"segment": 0, "received": [0, 1, 2, 5], "missing": [3, 4], "highest_contiguous": 2},
        {"segment": 1, "received": [1, 2], "missing": [0], "highest_contiguous": -1},
    ]
    assert rec.chunk_paths(0) == [f"chunks/000-{s:06d}.mkv" for s in (0, 1, 2, 5)]


def test_finalize_records_gaps_and_the_segment_map() -> None:
    rec = new_recording()
    for seq in (0, 1, 3):  # seq 2 lost
        send(rec, 0, seq)
    for seq in (0, 1):  # a reload 5 s after segment 0's last chunk
        send(rec, 1, seq, after=12.0 + 5.0 + 3.0 * (seq + 1))
    rec.close("submitted", EPOCH)
    rec.start_finalization("w1", EPOCH, LEASE)
    rec.finalize("w1", "recording.mp4", 18.0, 10, sha(b"x"), "remux", {0: 12.0, 1: 6.0}, EPOCH)
    assert rec.result is not None
    assert [(g["reason"], g["segment"], g["seqs"]) for g in rec.result["gaps"]] == [
        ("connection lost", 0, [2]),
        ("page reloaded", 1, []),
    ]
    reload = rec.result["gaps"][1]
    assert (reload["end"] - reload["start"]).total_seconds() == pytest.approx(5.0)
    offsets = [(s["segment"], s["video_offset_seconds"]) for s in rec.result["segments"]]
    assert offsets == [(0, 0.0), (1, 12.0)]
    assert rec.result["segments"][1]["wall_clock_start"] == EPOCH + timedelta(seconds=17)


def state_of(rec: Recording) -> dict[str, Any]:
    return {k: v for k, v in vars(rec).items() if k not in ("_pending_events", "_modified_on")}


def test_an_hour_of_chunks_snapshots_to_the_same_state() -> None:
    """1,200 chunks through a real event store with snapshots: the state restored from a
    snapshot (JSON: string keys, lists) equals the state built by replaying every event."""

    class Store(Application[UUID]):
        name = "RecordingSnapshots"
        snapshotting_intervals = {Recording: 100}

    app = Store(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    rec = new_recording()
    for seq in range(1200):
        if seq != 600:
            send(rec, seq // 400, seq % 400)
    rec.close("submitted", EPOCH)
    app.save(rec)
    rec.start_finalization("w1", EPOCH, LEASE)
    rec.fail("w1", "once", EPOCH)
    app.save(rec)
    assert app.snapshots is not None and list(app.snapshots.get(rec.id))
    from_snapshot: Recording = app.repository.get(rec.id)
    replayed: Any = None
    for stored in app.events.get(rec.id):  # every event, deserialised, no snapshot
        replayed = stored.mutate(replayed)  # type: ignore[attr-defined]
    assert state_of(from_snapshot) == state_of(replayed) == state_of(rec)
    assert from_snapshot.segment_status()[1]["missing"] == [200]
    assert from_snapshot.gaps() == rec.gaps()
    assert from_snapshot.status == FAILED
    with pytest.raises(Gone):
        send(from_snapshot, 0, 5)
