"""Rebuild read models from the event log: empty the tables and tracking, then replay.
Stop the servers first: a rebuild races with a running projection."""

from __future__ import annotations

import functools
import sys

from adapters.runtime.bootstrap import bootstrap
from adapters.runtime.followers import ReadModel
from application.config import AppSettings


def rebuild_read_models(settings: AppSettings) -> None:
    in_thread = settings.model_copy(update={"run_projections": True, "projection_process": False})
    services = bootstrap(in_thread, run_workers=True)  # workers built, not started
    try:
        total = services.app.recorder.max_notification_id() or 0
        for runner in services.followers:
            if not isinstance(runner.follower, ReadModel):
                continue  # process managers are not rebuilt: their effects are commands
            name = runner.follower.name
            runner.follower.view.reset(services.app.name)
            applied = runner.catch_up(progress=functools.partial(_progress, name, total=total))
            print(f"\n{name}: replayed {applied} event(s)", file=sys.stderr)
    finally:
        services.close()


def _progress(name: str, position: int, *, total: int) -> None:
    width = 30
    filled = int(width * min(position, total) / total) if total else width
    sys.stderr.write(f"\r{name:<16} [{'#' * filled}{'.' * (width - filled)}] {position}/{total}")
    sys.stderr.flush()
