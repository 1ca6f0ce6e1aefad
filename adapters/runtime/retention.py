"""The retention sweep as the runtime runs it: daily at SMART_EXAM_RETENTION_RUN_AT beside the
followers (server threads, the projection child, `smart-exam worker`: every process that runs
followers schedules it; the claim makes each deletion happen once), and on demand (the admin
route, the CLI). The work list is the recordings read model, brought up to date first."""

from __future__ import annotations

import contextlib
from functools import partial
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from adapters.runtime.followers import FollowerRunner, ReadModel
from adapters.runtime.services import RECORDINGS, Services
from adapters.schedule import DailyTask
from application.retention import Progress, RetentionReport, run_retention
from media_storage.recordings import RecordingFiles
from projections.recordings import RecordingsProjection

CATCH_UP_SECONDS = 10.0


def sweep(
    services: Services, *, by: UUID | None = None, dry_run: bool = False,
    progress: Progress | None = None, project_here: bool = False,
) -> RetentionReport:  # fmt: skip
    """One sweep now. Blocks (files, store): call it off the event loop. `project_here`: this
    process runs no followers (the CLI), so it brings the recordings read model up to date
    itself (if a running worker applies the same events first, that one's rows stand)."""
    if project_here:
        runner = FollowerRunner(services.app, ReadModel(RecordingsProjection(services.recordings.view)))
        with contextlib.suppress(IntegrityError):
            runner.catch_up()
    else:
        services.wait_until_current(RECORDINGS, timeout=CATCH_UP_SECONDS)
    media = RecordingFiles(services.media)
    return run_retention(services.app, services.recordings, media, by=by, dry_run=dry_run, progress=progress)


def retention_schedule(services: Services) -> DailyTask:
    at = services.settings.retention_run_at
    return DailyTask("retention-sweep", at, services.app.clock, partial(sweep, services))
