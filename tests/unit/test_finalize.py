"""The finalize process manager on an in-memory store with a fake clock and a fake transcoder:
claim, result, failure and retry, leases, chunk removal, the log line, the round over a work list."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from fakes import FakeClock, FakeTranscoder
from recording_world import World, events_of, make_world

from application import attempts, recordings
from application.finalize import close_recording, finalize_due, finalize_recording, on_attempt_ended
from domain.attempts import Attempt
from domain.errors import Conflict, NotFound
from domain.recordings import FAILED, READY, Recording

LEASE = timedelta(minutes=5)


@pytest.fixture
def w(tmp_path: Path, clock: FakeClock) -> World:
    return make_world({"PERSISTENCE_MODULE": "eventsourcing.popo"}, tmp_path, clock)


def recorded(w: World, chunks: int = 3, final: bool = True) -> UUID:
    attempt_id = w.start()
    w.send_segments(attempt_id, [[f"c{i}".encode() for i in range(chunks)]], final=final)
    ended = attempts.submit(w.app, w.candidates[0], attempt_id)
    (event,) = [e for e in w.app.events.get(attempt_id) if isinstance(e, Attempt.Submitted)]
    assert on_attempt_ended(w.app, event) is True and ended.ended_at is not None
    return attempt_id


def chunk_files(w: World, attempt_id: UUID) -> list[str]:
    return [f.relative for f in w.files.files(attempt_id) if "/chunks/" in f.relative]


def run(w: World, transcoder: FakeTranscoder, attempt_id: UUID, worker: str = "w1") -> Recording:
    return finalize_recording(w.app, transcoder, w.files, attempt_id, worker, w.clock.now(), LEASE)


def test_finalize_records_the_result_logs_it_then_removes_the_chunks(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    attempt_id = recorded(w)
    transcoder = FakeTranscoder()
    progress: list[float] = []
    with caplog.at_level(logging.INFO, logger="application.finalize"):
        recording = finalize_recording(
            w.app, transcoder, w.files, attempt_id, "w1", w.clock.now(), LEASE, progress.append
        )
    assert recording.status == READY and recording.result is not None
    assert recording.result["path"] == w.files.recording_path(attempt_id)
    assert recording.result["duration_seconds"] == 3.0 and progress == [1.0]
    assert [len(s.chunks) for s in transcoder.calls[0]] == [3]
    assert events_of(w.app, attempt_id)[-3:] == [
        "RecordingClosed",
        "FinalizationStarted",
        "RecordingFinalized",
    ]
    assert chunk_files(w, attempt_id) == []
    assert [f.relative for f in w.files.files(attempt_id)] == [w.files.recording_path(attempt_id)]
    (line,) = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("Video processing completed")
    ]
    assert f"attempt={attempt_id}" in line and "duration=3.000s" in line and "codec_path=remux" in line
    assert "elapsed=" in line


def test_a_failure_keeps_the_chunks_and_is_retried_after_the_backoff(w: World) -> None:
    attempt_id = recorded(w)
    transcoder = FakeTranscoder()
    transcoder.fail_with = "Invalid data found when processing input"
    failed = run(w, transcoder, attempt_id)
    assert failed.status == FAILED
    assert "Invalid data found" in (failed.failure_reason or "")
    assert len(chunk_files(w, attempt_id)) == 3
    with pytest.raises(Conflict, match="retried after"):
        run(w, transcoder, attempt_id, "w2")
    transcoder.fail_with = None
    w.clock.set(failed.retry_after)
    assert run(w, transcoder, attempt_id, "w2").status == READY
    assert chunk_files(w, attempt_id) == []


def test_a_missing_chunk_file_fails_the_run_not_the_worker(w: World) -> None:
    attempt_id = recorded(w)
    w.files.absolute(chunk_files(w, attempt_id)[1]).unlink()
    failed = run(w, FakeTranscoder(), attempt_id)
    assert failed.status == FAILED and "No such file" in failed.failure_reason


def test_a_second_claimer_gets_conflict_while_the_lease_is_fresh(w: World) -> None:
    attempt_id = recorded(w)
    transcoder = FakeTranscoder()
    refused: list[Exception] = []

    def meanwhile() -> None:  # another worker tries while the first one transcodes
        with pytest.raises(Conflict, match="w1 is finalizing") as caught:
            run(w, FakeTranscoder(), attempt_id, "w2")
        refused.append(caught.value)

    transcoder.during = meanwhile
    assert run(w, transcoder, attempt_id).status == READY
    assert len(refused) == 1
    assert events_of(w.app, attempt_id).count("FinalizationStarted") == 1


def test_a_worker_whose_lease_ran_out_loses_to_the_one_that_claimed_again(w: World) -> None:
    attempt_id = recorded(w)
    slow = FakeTranscoder()

    def crashed_meanwhile() -> None:  # w1 is stuck past its lease: w2 claims and finishes
        w.clock.advance(LEASE.total_seconds())
        assert run(w, FakeTranscoder(), attempt_id, "w2").status == READY

    slow.during = crashed_meanwhile
    with pytest.raises(Conflict):
        run(w, slow, attempt_id, "w1")  # its result comes too late: refused
    names = events_of(w.app, attempt_id)
    assert names.count("FinalizationStarted") == 2 and names.count("RecordingFinalized") == 1
    assert chunk_files(w, attempt_id) == []  # removed by the winner, after its commit


def test_nothing_playable_fails_with_a_reason(w: World) -> None:
    attempt_id = w.start()
    w.clock.advance(1)
    w.send(attempt_id, 0, 1)  # seq 0 (the header) never arrived
    close_recording(w.app, attempt_id, "submitted", w.clock.now())
    failed = run(w, FakeTranscoder(), attempt_id)
    assert failed.status == FAILED and "no playable video" in failed.failure_reason


def test_no_recording_no_work(w: World) -> None:
    attempt_id = w.start()
    assert close_recording(w.app, attempt_id, "submitted", w.clock.now()) is False
    with pytest.raises(NotFound):
        run(w, FakeTranscoder(), attempt_id)
    w.send(attempt_id, 0, 0)
    with pytest.raises(Conflict, match="still open"):
        run(w, FakeTranscoder(), attempt_id)


class ListedWork:
    """A work list as the read model would answer (the read model itself: integration tests)."""

    def __init__(self, due: list[UUID], ended: list[tuple[UUID, str, datetime]]) -> None:
        self.due, self.ended = due, ended

    def due_for_finalization(self, now: datetime, grace_seconds: float) -> list[UUID]:
        return self.due

    def ended_but_open(self) -> list[tuple[UUID, str, datetime]]:
        return self.ended


def test_a_round_closes_what_ended_unseen_and_skips_what_it_cannot_claim(w: World) -> None:
    unseen, open_one = w.start(0), w.start(1)
    w.send(unseen, 0, 0, final=True)
    w.send(open_one, 0, 0, candidate=1)
    work = ListedWork([unseen, open_one], [(unseen, "expired", w.clock.now())])
    done = finalize_due(w.app, work, FakeTranscoder(), w.files, "w1", LEASE, 30.0)
    assert [r.attempt_id for r in done] == [unseen] and done[0].status == READY
    assert done[0].close_reason == "expired"
    assert recordings.recording_of(w.app, open_one).status == "Recording"  # open: Conflict, skipped
