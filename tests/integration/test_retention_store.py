"""Retention for real on SQLite and PostgreSQL: the services as bootstrap builds them (the
recordings read model following in a thread), real files, real ffmpeg, a fake clock. A finalized
recording past the cutoff is deleted with RecordingDeleted and its files go; one inside the
window stays, one Processing stays, an orphan folder goes; a dry run changes nothing; two
sweepers (two processes on one store) delete each recording once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fakes import FakeClock
from recording_world import events_of
from retention_world import (
    DAY,
    clip,
    files_under,
    finalized,
    orphan_folder,
    recorded,
    row_status,
    without_schedule,
    world_on,
)

from adapters.runtime.retention import sweep
from adapters.schedule import DailyTask
from application.retention import RetentionReport
from domain.recordings import DELETED, PROCESSING, READY


@pytest.fixture(scope="module")
def chunks(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    return clip(tmp_path_factory.mktemp("clip"))


def test_the_sweep_deletes_what_is_due_keeps_the_rest_and_a_dry_run_changes_nothing(
    services_factory: Callable[..., Any], clock: FakeClock, chunks: list[bytes]
) -> None:
    services = without_schedule(services_factory(start=False))
    services.start()
    w = world_on(services, clock)
    old = finalized(w, 0, chunks)
    clock.advance(10 * DAY)
    recent = finalized(w, 1, chunks)
    processing = recorded(w, 2, chunks)  # closed, never finalized
    clock.advance(25 * DAY)  # old ended 35 days ago, recent 25 (the default keeps 30)
    lost = orphan_folder(w, 2 * DAY)
    root = services.media.root
    position, before = services.app.position(), files_under(root)

    dry = sweep(services, dry_run=True)
    assert services.app.position() == position and files_under(root) == before
    assert [r.attempt_id for r in dry.recordings] == [old]
    assert [o.path for o in dry.orphans] == [w.files.folder_path(lost)]

    done = sweep(services)
    assert done.recordings == dry.recordings and done.orphans == dry.orphans
    result = w.recording(old).result
    assert result is not None and [r.bytes for r in done.recordings] == [result["size_bytes"]]  # the MP4
    assert done.bytes_freed == dry.bytes_freed == result["size_bytes"] + done.orphans[0].bytes
    assert events_of(w.app, old)[-1] == "RecordingDeleted" and w.recording(old).status == DELETED
    assert not w.files.folder(old).exists() and not w.files.folder(lost).exists()
    assert (root / w.files.recording_path(recent)).is_file() and w.recording(recent).status == READY
    assert w.recording(processing).status == PROCESSING and len(w.files.files(processing)) == len(chunks)
    assert [row_status(services, a) for a in (old, recent, processing)] == [DELETED, READY, PROCESSING]

    again = sweep(services)
    assert again.recordings == [] and again.orphans == [] and again.skipped == 0


def test_two_sweepers_on_one_store_delete_each_recording_once(
    services_factory: Callable[..., Any], settings_factory: Callable[..., Any], clock: FakeClock,
    chunks: list[bytes],
) -> None:  # fmt: skip
    settings = settings_factory()
    first = without_schedule(services_factory(settings, start=False))
    first.start()
    second = services_factory(settings, run_workers=False)  # another process: no followers
    w = world_on(first, clock)
    due = [finalized(w, i, chunks) for i in range(3)]
    clock.advance(31 * DAY)
    assert first.wait_until_current("recordings", timeout=10)
    start = threading.Barrier(2)
    reports: list[RetentionReport] = []

    def run(services: Any) -> None:
        start.wait()
        reports.append(sweep(services, project_here=services is second))

    threads = [threading.Thread(target=run, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    deleted = sorted(r.attempt_id for report in reports for r in report.recordings)
    assert deleted == sorted(due)
    for attempt_id in due:
        assert events_of(w.app, attempt_id).count("RecordingDeleted") == 1
        assert not w.files.folder(attempt_id).exists()


def test_the_schedule_runs_beside_the_followers(services_factory: Callable[..., Any]) -> None:
    services = services_factory(start=False)
    (daily,) = [b for b in services.background if isinstance(b, DailyTask)]
    assert daily.at == services.settings.retention_run_at and daily.name == "retention-sweep"
    cli = services_factory(run_workers=False, start=False)
    assert not any(isinstance(b, DailyTask) for b in cli.background)


def test_the_cli_runs_the_sweep(
    services_factory: Callable[..., Any], settings_factory: Callable[..., Any], clock: FakeClock,
    chunks: list[bytes], capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from interfaces.cli_retention import run_retention

    settings = settings_factory()
    services = without_schedule(services_factory(settings, start=False))
    services.start()
    w = world_on(services, clock)
    old = finalized(w, 0, chunks)
    clock.advance(31 * DAY)
    cli = services_factory(settings, run_workers=False)
    assert run_retention(cli, dry_run=True) == 0
    assert f"would delete recording {old}" in capsys.readouterr().out and w.files.folder(old).exists()
    assert run_retention(cli, dry_run=False) == 0
    out = capsys.readouterr().out
    assert f"deleted recording {old}" in out and "1 recordings, 0 orphans" in out
    assert not w.files.folder(old).exists()


def test_the_command_line_parses_and_calls(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from interfaces.cli import main

    monkeypatch.setenv("SMART_EXAM_DATA_DIR", str(tmp_path))
    assert main(["retention", "run", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "retention 30 days" in out and "0 recordings, 0 orphans, 0 bytes to free" in out
    with pytest.raises(SystemExit):
        main(["retention", "run", "--now"])
