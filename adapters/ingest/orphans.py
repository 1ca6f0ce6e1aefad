"""The snapshot orphan sweep: a snapshot file is evidence only once its SnapshotTaken event is
recorded (adapters/ingest/pipeline.py). A crash between the file's fsync and that commit can
leave a file nothing refers to; this removes such files once they are older than `min_age`
(an upload in flight is seconds old), and only while the timeline read model is current, so a
recorded snapshot whose row is not applied yet is never taken for an orphan.

Recording files have their own sweep (the recording retention); this one looks only under
the snapshot folder."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from media_storage import MediaStorage
from media_storage.storage import SNAPSHOTS
from projections.timeline import TimelineQueries

log = logging.getLogger(__name__)


def sweep_orphan_snapshots(
    media: MediaStorage,
    timeline: TimelineQueries,
    timeline_is_current: Callable[[], bool],
    min_age_seconds: float,
    now: Callable[[], float] = time.time,
) -> int:
    """Removes unrecorded snapshot files older than `min_age_seconds`; returns how many."""
    root = media.root / SNAPSHOTS
    if not root.is_dir():
        return 0
    cutoff = now() - min_age_seconds
    old: dict[str, Path] = {}
    for path in root.rglob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                old[path.relative_to(media.root).as_posix()] = path
        except FileNotFoundError:  # removed meanwhile (retention)
            continue
    if not old:
        return 0
    if not timeline_is_current():
        log.warning("orphan sweep skipped: the timeline read model is not current")
        return 0
    recorded = timeline.recorded_paths(sorted(old))
    removed = 0
    for relative in sorted(set(old) - recorded):
        if media.delete(relative):
            removed += 1
    if removed:
        log.warning("removed %d snapshot file(s) that no event refers to (left by a crash)", removed)
    return removed
