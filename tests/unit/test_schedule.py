"""The daily scheduler with a fake clock: the next run time (UTC, or the given offset), one run
per day, a failing run logged and retried the next day, and the thread waking for its time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from fakes import FakeClock

from adapters.schedule import DailyTask, next_run
from application.config import AppSettings


@pytest.mark.parametrize(
    ("now", "at", "expected"),
    [
        (datetime(2025, 1, 6, 2, 59, tzinfo=UTC), time(3, 0), datetime(2025, 1, 6, 3, 0, tzinfo=UTC)),
        (datetime(2025, 1, 6, 3, 0, tzinfo=UTC), time(3, 0), datetime(2025, 1, 7, 3, 0, tzinfo=UTC)),
        (datetime(2025, 12, 31, 23, 0, tzinfo=UTC), time(3, 0), datetime(2026, 1, 1, 3, 0, tzinfo=UTC)),
        (  # 03:00 at +02:00 is 01:00 UTC
            datetime(2025, 1, 6, 0, 30, tzinfo=UTC),
            time(3, 0, tzinfo=timezone(timedelta(hours=2))),
            datetime(2025, 1, 6, 1, 0, tzinfo=UTC),
        ),
    ],
)
def test_next_run(now: datetime, at: time, expected: datetime) -> None:
    assert next_run(now, at) == expected


def test_the_setting_is_a_typed_time_utc_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AppSettings().retention_run_at == time(3, 0)
    monkeypatch.setenv("SMART_EXAM_RETENTION_RUN_AT", "04:30+02:00")
    at = AppSettings().retention_run_at
    assert (at.hour, at.minute, at.utcoffset()) == (4, 30, timedelta(hours=2))
    monkeypatch.setenv("SMART_EXAM_RETENTION_RUN_AT", "25:00")
    with pytest.raises(ValueError):
        AppSettings()


def test_runs_once_a_day_at_its_time_and_survives_a_failure() -> None:
    clock = FakeClock(datetime(2025, 1, 6, 2, 0, tzinfo=UTC))
    runs: list[datetime] = []

    def task() -> None:
        runs.append(clock.now())
        if len(runs) == 1:
            raise RuntimeError("store unreachable")

    daily = DailyTask("retention", time(3, 0), clock, task)
    assert daily.tick() is False
    clock.advance(3600)
    assert daily.tick() is True and daily.tick() is False  # failed, logged, not repeated today
    assert daily.next_at == datetime(2025, 1, 7, 3, 0, tzinfo=UTC)
    clock.advance(24 * 3600 - 1)
    assert daily.tick() is False
    clock.advance(1)
    assert daily.tick() is True
    clock.advance(3 * 24 * 3600)  # the process was down for days: one run, not three
    assert daily.tick() is True and daily.tick() is False
    assert len(runs) == 3


def test_the_thread_runs_the_task_when_its_time_comes() -> None:
    clock = FakeClock(datetime(2025, 1, 6, 2, 59, 59, tzinfo=UTC))
    ran = threading.Event()
    daily = DailyTask("retention", time(3, 0), clock, ran.set, check_seconds=0.01)
    daily.start()
    try:
        assert not ran.wait(0.1)
        clock.advance(1)
        assert ran.wait(5)
    finally:
        daily.stop()
