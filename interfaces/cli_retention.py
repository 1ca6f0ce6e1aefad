"""`smart-exam retention run [--dry-run]`: parses nothing more, runs the sweep, prints the report."""

from __future__ import annotations

from adapters.runtime.retention import sweep
from adapters.runtime.services import Services
from interfaces.progress import ProgressBar

MANY = 20  # a progress bar once there is this much to go through


def run_retention(services: Services, dry_run: bool) -> int:
    bar = ProgressBar("retention")

    def progress(done: int, total: int) -> None:
        if total >= MANY:
            bar(done, total)

    try:
        report = sweep(services, dry_run=dry_run, progress=progress, project_here=True)
    finally:
        bar.close()
    verb = "would delete" if dry_run else "deleted"
    print(f"retention {report.retention_days} days (attempts ended before {report.cutoff.isoformat()})")
    for r in report.recordings:
        print(f"  {verb} recording {r.attempt_id} (ended {r.ended_at.isoformat()}, {r.bytes} bytes)")
    for o in report.orphans:
        print(f"  {verb} orphan {o.path} ({o.files} files, {o.bytes} bytes: {o.reason})")
    print(
        f"{len(report.recordings)} recordings, {len(report.orphans)} orphans, "
        f"{report.bytes_freed} bytes {'to free' if dry_run else 'freed'}"
        + (f", {report.skipped} skipped (taken by another sweeper)" if report.skipped else "")
    )
    return 0
