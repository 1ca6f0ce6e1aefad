"""The retention sweep on an in-memory store with a fake clock and real files in a temp folder:
what is due, what is never touched, the claim, orphans, the dry run, the report and the log."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fakes import FakeClock, FakeTranscoder
from recording_world import World, events_of, make_world

from application import admin, attempts
from application.finalize import finalize_recording, on_attempt_ended
from application.retention import ORPHAN_AGE, RetentionReport, run_retention
from domain.attempts import Attempt
from domain.recordings import DELETED, FAILED, PROCESSING, READY, RECORDING, Recording
from media_storage.recordings import RecordingFiles

LEASE = timedelta(minutes=5)
DAY = 86_400.0


class EveryRecording:
    """The work list as a lagging read model might answer: every recording it knows, due or
    not; the sweep must decide each on its aggregate."""

    def __init__(self) -> None:
        self.ids: list[UUID] = []
        self.asked: list[datetime] = []

    def due_for_deletion(self, cutoff: datetime, limit: int) -> list[UUID]:
        self.asked.append(cutoff)
        return list(self.ids)


@pytest.fixture
def w(tmp_path: Path, clock: FakeClock) -> World:
    return make_world({"PERSISTENCE_MODULE": "eventsourcing.popo"}, tmp_path, clock, candidates=4)


@pytest.fixture
def work() -> EveryRecording:
    return EveryRecording()


def recorded(w: World, work: EveryRecording, candidate: int, *, end: bool = True) -> UUID:
    attempt_id = w.start(candidate)
    for seq in range(3):
        w.clock.advance(1)
        w.send(attempt_id, 0, seq, f"c{candidate}-{seq}".encode(), candidate=candidate, final=seq == 2)
    work.ids.append(attempt_id)
    if end:
        attempts.submit(w.app, w.candidates[candidate], attempt_id)
        (event,) = [e for e in w.app.events.get(attempt_id) if isinstance(e, Attempt.Submitted)]
        on_attempt_ended(w.app, event)
    return attempt_id


def finalized(w: World, work: EveryRecording, candidate: int, fail: bool = False) -> UUID:
    attempt_id = recorded(w, work, candidate)
    transcoder = FakeTranscoder()
    transcoder.fail_with = "broken" if fail else None
    finalize_recording(w.app, transcoder, w.files, attempt_id, "w1", w.clock.now(), LEASE)
    return attempt_id


def sweep(w: World, work: Any, **kw: Any) -> RetentionReport:
    return run_retention(w.app, work, w.files, **kw)


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def deleted_event(w: World, attempt_id: UUID) -> Recording.RecordingDeleted:
    (deleted,) = [
        e for e in w.app.events.get(w.recording(attempt_id).id) if isinstance(e, Recording.RecordingDeleted)
    ]
    return deleted


def age(w: World, attempt_id: UUID, seconds: float) -> None:
    """Makes the attempt's files look untouched for `seconds` before the fake clock's now."""
    when = w.clock.now().timestamp() - seconds
    for f in w.files.files(attempt_id):
        os.utime(w.files.absolute(f.relative), (when, when))


def test_deletes_only_what_ended_before_the_cutoff_and_records_why(w: World, work: EveryRecording) -> None:
    old = finalized(w, work, 0)
    w.clock.advance(10 * DAY)
    recent = finalized(w, work, 1)
    w.clock.advance(25 * DAY)  # old ended 35 days ago, recent 25: the default is 30
    report = sweep(w, work)
    assert [r.attempt_id for r in report.recordings] == [old]
    assert report.recordings[0].bytes > 0 and report.bytes_freed == report.recordings[0].bytes
    assert report.retention_days == 30 and work.asked == [w.clock.now() - timedelta(days=30)]
    assert w.recording(old).status == DELETED and events_of(w.app, old)[-1] == "RecordingDeleted"
    deleted = deleted_event(w, old)
    assert (deleted.by, deleted.why, deleted.at) == (None, "retention: 30 days", w.clock.now())
    assert not w.files.folder(old).exists() and w.files.files(recent)
    assert w.recording(recent).status == READY


def test_the_admins_setting_counts_and_the_admin_is_recorded_as_who(w: World, work: EveryRecording) -> None:
    attempt_id = finalized(w, work, 0)
    admin.change_retention_days(w.app, w.admin, 2)
    w.clock.advance(2 * DAY - 1)
    assert sweep(w, work).recordings == []
    w.clock.advance(1)  # exactly 2 days after the end: due
    report = sweep(w, work, by=w.admin.user_id)
    assert [r.attempt_id for r in report.recordings] == [attempt_id]
    deleted = deleted_event(w, attempt_id)
    assert (deleted.by, deleted.why) == (w.admin.user_id, "retention: 2 days")


def test_a_failed_recording_is_deleted_too_with_its_kept_chunks(w: World, work: EveryRecording) -> None:
    attempt_id = finalized(w, work, 0, fail=True)
    assert w.recording(attempt_id).status == FAILED and w.files.files(attempt_id)
    w.clock.advance(31 * DAY)
    assert [r.attempt_id for r in sweep(w, work).recordings] == [attempt_id]
    assert w.recording(attempt_id).status == DELETED and not w.files.folder(attempt_id).exists()


def test_never_touches_a_recording_still_recording_or_being_finalized(w: World, work: EveryRecording) -> None:
    recording = recorded(w, work, 0, end=False)
    processing = recorded(w, work, 1)  # closed, not finalized yet
    claimed = recorded(w, work, 2)
    r = w.recording(claimed)
    r.start_finalization("w9", w.clock.now(), timedelta(days=400))
    w.app.commit(r)
    w.clock.advance(365 * DAY)
    for attempt_id in (recording, processing, claimed):
        age(w, attempt_id, 300 * DAY)  # even its files are old
    before = snapshot(w.files.storage.root)
    report = sweep(w, work)
    assert report.recordings == [] and report.orphans == []
    assert snapshot(w.files.storage.root) == before
    statuses = [w.recording(a).status for a in (recording, processing, claimed)]
    assert statuses == [RECORDING, PROCESSING, PROCESSING]


def test_a_dry_run_reports_the_same_and_changes_nothing(w: World, work: EveryRecording) -> None:
    due = finalized(w, work, 0)
    orphan = uuid4()
    w.files.storage.save(f"{w.files.folder_path(orphan)}/chunks/000-000000.mkv", b"lost")
    w.clock.advance(40 * DAY)
    age(w, orphan, 2 * DAY)
    position, files = w.app.position(), snapshot(w.files.storage.root)
    dry = sweep(w, work, dry_run=True)
    assert w.app.position() == position and snapshot(w.files.storage.root) == files
    assert w.recording(due).status == READY
    real = sweep(w, work)
    assert dry.dry_run and not real.dry_run
    assert dry.recordings == real.recordings and dry.orphans == real.orphans
    assert dry.bytes_freed == real.bytes_freed > 0
    assert w.app.position() > position and not w.files.folder(orphan).exists()


def test_a_concurrent_sweeper_gets_a_version_conflict_and_skips(w: World, work: EveryRecording) -> None:
    attempt_id = finalized(w, work, 0)
    w.clock.advance(31 * DAY)
    other: list[RetentionReport] = []

    class Racing(RecordingFiles):
        """Another sweeper deletes the recording while this one is between load and save."""

        def files(self, attempt: UUID) -> Any:
            if not other:
                other.append(run_retention(w.app, work, w.files))
            return super().files(attempt)

    report = run_retention(w.app, work, Racing(w.files.storage))
    assert [r.attempt_id for r in other[0].recordings] == [attempt_id]
    assert report.recordings == [] and report.skipped == 1
    assert events_of(w.app, attempt_id).count("RecordingDeleted") == 1


def test_orphans_no_recording_deleted_leftovers_and_strays_older_than_a_day(
    w: World, work: EveryRecording
) -> None:
    ready = finalized(w, work, 0)
    failed = finalized(w, work, 1, fail=True)
    root, files = w.files.storage.root, w.files
    lost, fresh = uuid4(), uuid4()  # folders with no Recording: one old, one an upload in flight
    files.storage.save(f"{files.folder_path(lost)}/chunks/000-000000.mkv", b"lost")
    files.storage.save(f"{files.folder_path(fresh)}/chunks/000-000000.mkv", b"fresh")
    files.storage.save(f"{files.folder_path(ready)}/.work-w7/part.mkv", b"scratch")
    files.storage.save(f"{files.folder_path(ready)}/chunks/000-000001.mkv", b"left")
    files.storage.save(f"{files.folder_path(failed)}/chunks/000-000009.mkv", b"unrecorded")
    w.clock.advance(3 * DAY)
    for attempt_id in (lost, ready, failed):
        age(w, attempt_id, ORPHAN_AGE.total_seconds())
    stray_new = f"{files.folder_path(ready)}/.work-w8/part.mkv"
    files.storage.save(stray_new, b"running")
    os.utime(root / stray_new, (w.clock.now().timestamp(),) * 2)
    report = sweep(w, work)
    found = {(o.path, o.reason) for o in report.orphans}
    assert found == {
        (files.folder_path(lost), "no recording refers to it"),
        (f"{files.folder_path(ready)}/.work-w7/part.mkv", "no event refers to it"),
        (f"{files.folder_path(ready)}/chunks/000-000001.mkv", "no event refers to it"),
        (f"{files.folder_path(failed)}/chunks/000-000009.mkv", "no event refers to it"),
    }
    assert report.recordings == [] and not files.folder(lost).exists()
    assert (root / files.recording_path(ready)).exists() and (root / stray_new).exists()
    assert [f.relative for f in files.files(fresh)] and not (files.folder(ready) / ".work-w7").exists()
    assert len(files.files(failed)) == 3  # the held chunks stay for the retry


def test_the_folder_of_a_deleted_recording_goes_at_the_next_run(w: World, work: EveryRecording) -> None:
    """A crash after RecordingDeleted was saved and before its files went."""
    attempt_id = finalized(w, work, 0)
    r = w.recording(attempt_id)
    r.delete(None, "retention: 30 days", w.clock.now())
    w.app.commit(r)
    report = sweep(w, work)
    assert [(o.path, o.reason) for o in report.orphans] == [
        (w.files.folder_path(attempt_id), "its recording was deleted")
    ]
    assert not w.files.folder(attempt_id).exists()


def test_the_run_is_logged_with_counts_and_bytes(
    w: World, work: EveryRecording, caplog: pytest.LogCaptureFixture
) -> None:
    finalized(w, work, 0)
    w.clock.advance(31 * DAY)
    progress: list[tuple[int, int]] = []
    with caplog.at_level(logging.INFO, logger="application.retention"):
        report = sweep(w, work, progress=lambda done, total: progress.append((done, total)))
    (line,) = [r.getMessage() for r in caplog.records if r.name == "application.retention"]
    assert f"1 recordings deleted, 0 orphans removed, {report.bytes_freed} bytes freed" in line
    assert progress == [(1, 2), (2, 2)]  # the recording, then its folder (listed before it went)


def test_removing_stray_files_stays_inside_the_attempt_folder(w: World, work: EveryRecording) -> None:
    from domain.errors import NotFound

    a, b = uuid4(), uuid4()
    w.files.storage.save(f"{w.files.folder_path(b)}/chunks/000-000000.mkv", b"other")
    w.files.storage.save(f"{w.files.folder_path(a)}/.work-x/deep/part.mkv", b"mine")
    others = f"{w.files.folder_path(b)}/chunks/000-000000.mkv"
    for outside in (others, "../escape.txt", w.files.folder_path(a)):
        with pytest.raises(NotFound):
            w.files.remove_files(a, [outside])
    assert w.files.remove_files(a, [f"{w.files.folder_path(a)}/.work-x/deep/part.mkv"]) == 1
    assert w.files.remove_files(a, [f"{w.files.folder_path(a)}/.work-x/deep/part.mkv"]) == 0  # gone: fine
    assert w.files.folder(a).is_dir() and not (w.files.folder(a) / ".work-x").exists()
    assert len(w.files.files(b)) == 1
