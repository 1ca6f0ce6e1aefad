"""The retention sweep: deletes the recordings (MP4, leftover chunks, scratch files) of attempts
that ended more than `Settings.retention_days` ago, and files no event refers to.

- Only Ready or Failed recordings are deleted; one still recording or being finalized
  (Recording / Processing) is never touched, nor are any of its files.
- Claimed like finalization: RecordingDeleted is saved at the version read, so of two sweepers
  (two processes, two machines sharing PostgreSQL) one gets a version conflict and skips it.
- Order: the event first, then the files. A crash in between leaves a Deleted recording whose
  folder still exists; the next run's orphan pass removes it. The other order could leave a
  Ready recording whose MP4 is gone (a page that cannot play what the log says exists).
- Orphans: an attempt folder no Recording refers to (a chunk stored before a crash stopped its
  event), the folder of a Deleted recording, and in a Ready / Failed recording's folder any file
  it does not refer to (scratch of a crashed finalizer, chunks left after the MP4). Except for a
  Deleted recording's folder, only files untouched for ORPHAN_AGE go: an upload in flight has
  its file before its event.
- A dry run decides the same and changes nothing: no event, no file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from application.admin import get_settings
from application.app import SmartExamApp
from application.ports import RetentionWorkList
from application.recordings import recording_of
from domain.errors import Conflict, NotFound
from domain.recording_chunks import PATH
from domain.recordings import DELETED, FAILED, READY, Recording
from media_storage.recordings import RecordingFiles, StoredFile

log = logging.getLogger(__name__)
ORPHAN_AGE = timedelta(days=1)
MAX_PER_RUN = 10_000  # the rest waits for the next run
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class ExpiredRecording:
    attempt_id: UUID
    ended_at: datetime
    bytes: int


@dataclass(frozen=True)
class Orphan:
    path: str  # relative to the media root: an attempt folder or one file
    bytes: int
    files: int
    reason: str


@dataclass
class RetentionReport:
    dry_run: bool
    retention_days: int
    cutoff: datetime
    recordings: list[ExpiredRecording] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    skipped: int = 0  # another sweeper (or a change meanwhile) got there first

    @property
    def bytes_freed(self) -> int:
        return sum(r.bytes for r in self.recordings) + sum(o.bytes for o in self.orphans)


def why_for(days: int) -> str:
    return f"retention: {days} day{'' if days == 1 else 's'}"


def run_retention(
    app: SmartExamApp,
    work_list: RetentionWorkList,
    media: RecordingFiles,
    *,
    by: UUID | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> RetentionReport:
    """One sweep. `by`: the admin who asked (None: the schedule or the CLI)."""
    days = get_settings(app).retention_days
    now = app.clock.now()
    report = RetentionReport(dry_run, days, now - timedelta(days=days))
    due = work_list.due_for_deletion(report.cutoff, MAX_PER_RUN)
    folders = media.attempt_ids_on_disk()
    total, done = len(due) + len(folders), 0
    for attempt_id in due:
        try:
            expired = _expire(app, media, attempt_id, report, by, now)
        except Conflict:
            report.skipped += 1
            expired = None
        if expired is not None:
            report.recordings.append(expired)
        done += 1
        if progress is not None:
            progress(done, total)
    deleted_now = {r.attempt_id for r in report.recordings}
    for attempt_id in folders:
        if attempt_id not in deleted_now:
            try:
                report.orphans += _remove_orphans(app, media, attempt_id, now, dry_run)
            except OSError as error:  # one unreadable folder does not stop the sweep
                log.warning("retention: orphans of %s not removed: %s", attempt_id, error)
        done += 1
        if progress is not None:
            progress(done, total)
    log.info(
        "Retention %s: %d recordings deleted, %d orphans removed, %d bytes freed, %d skipped "
        "(retention %d days, cutoff %s)",
        "dry run" if dry_run else "run", len(report.recordings), len(report.orphans),
        report.bytes_freed, report.skipped, days, report.cutoff.isoformat(),
    )  # fmt: skip
    return report


def _expire(
    app: SmartExamApp, media: RecordingFiles, attempt_id: UUID, report: RetentionReport,
    by: UUID | None, now: datetime,
) -> ExpiredRecording | None:  # fmt: skip
    """Decided on the aggregate (the work list may lag); Conflict: another sweeper won."""
    try:
        recording = recording_of(app, attempt_id)
    except NotFound:
        return None
    ended = recording.closed_at  # the attempt's end: the Recording is closed with it
    if recording.status not in (READY, FAILED) or ended is None or ended > report.cutoff:
        return None
    size = sum(f.size_bytes for f in media.files(attempt_id))
    if not report.dry_run:
        recording.delete(by, why_for(report.retention_days), now)
        app.commit(recording)  # at the version read: the claim
        try:
            media.delete_recording(attempt_id)
        except OSError as error:  # the next run's orphan pass removes the Deleted folder
            log.warning("retention: files of recording %s not removed yet: %s", attempt_id, error)
    return ExpiredRecording(attempt_id, ended, size)


def _referenced(recording: Recording) -> set[str]:
    if recording.status == READY and recording.result is not None:
        return {recording.result["path"]}
    return {held[PATH] for held in recording.chunks.values()}  # Failed: kept for the retry


def _remove_orphans(
    app: SmartExamApp, media: RecordingFiles, attempt_id: UUID, now: datetime, dry_run: bool
) -> list[Orphan]:
    files = media.files(attempt_id)
    if not files:
        return []
    old = (now - ORPHAN_AGE).timestamp()
    try:
        recording: Recording | None = recording_of(app, attempt_id)
    except NotFound:
        recording = None
    if recording is None or recording.status == DELETED:
        if recording is None and max(f.modified for f in files) > old:
            return []  # an upload may be between its file and its event
        reason = "no recording refers to it" if recording is None else "its recording was deleted"
        if not dry_run:
            media.delete_recording(attempt_id)
        return [_folder_orphan(media, attempt_id, files, reason)]
    if recording.status not in (READY, FAILED):
        return []  # still recording or being finalized: never touched
    keep = _referenced(recording)
    stray = [f for f in files if f.relative not in keep and f.modified <= old]
    if stray and not dry_run:
        media.remove_files(attempt_id, [f.relative for f in stray])
    return [Orphan(f.relative, f.size_bytes, 1, "no event refers to it") for f in stray]


def _folder_orphan(media: RecordingFiles, attempt_id: UUID, files: list[StoredFile], reason: str) -> Orphan:
    return Orphan(media.folder_path(attempt_id), sum(f.size_bytes for f in files), len(files), reason)
