"""The whole server-side recording loop as bootstrap wires it, on SQLite and PostgreSQL, with
real ffmpeg: start, chunks recorded through record_chunks, submit; the closer follower closes the
Recording, the finalizer loop makes the MP4, the recordings read model says Ready, the log says
`Video processing completed`. And with recording switched off nothing recording-related runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from helpers import wait_until
from recording_seed import clip_chunks, event_names, record, recorded_attempt, seed

from adapters.runtime.followers import FollowerRunner
from adapters.runtime.recording_work import CLOSER, RecordingCloser
from adapters.runtime.services import RECORDINGS
from application import attempts
from media_storage.recordings import RecordingFiles

FAST = {"finalize_interval_seconds": 0.2, "finalize_grace_seconds": 30.0}


@pytest.fixture(scope="module")
def chunks(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    return clip_chunks(tmp_path_factory.mktemp("clip"))


def test_submit_closes_finalizes_and_the_read_model_says_ready(
    settings_factory: Callable[..., Any], services_factory: Callable[..., Any], chunks: list[bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="application.finalize")
    # No tick within the test: the recordings read model's progress wakes the finalizer.
    services = services_factory(settings_factory(**{**FAST, "finalize_interval_seconds": 3600.0}))
    names = {runner.follower.name for runner in services.followers}
    assert {RECORDINGS, CLOSER} <= names
    (who,) = seed(services.app)
    attempt_id = recorded_attempt(who, services.media, chunks)
    row = wait_until(
        lambda: services.recordings.recording(attempt_id),
        lambda r: r is not None and r["status"] == "Ready",
        timeout=120, interval=0.1, what="recording Ready",
    )  # fmt: skip
    assert event_names(services.app, attempt_id) == [
        "RecordingStarted", *["ChunkReceived"] * len(chunks), "RecordingClosed", "FinalizationStarted",
        "RecordingFinalized",
    ]  # fmt: skip
    assert row["close_reason"] == "submitted" and row["gaps"] == [] and row["chunks"] == len(chunks)
    mp4 = services.media.resolve(row["path"])
    assert mp4.stat().st_size == row["size_bytes"] and row["duration_seconds"] == pytest.approx(4.0, abs=0.5)
    left = [f.relative.rsplit("/", 1)[1] for f in RecordingFiles(services.media).files(attempt_id)]
    assert left == ["recording.mp4"]  # chunks removed only after the verified MP4 was recorded
    completed = [r.getMessage() for r in caplog.records if "Video processing completed" in r.getMessage()]
    assert len(completed) == 1 and str(attempt_id) in completed[0]
    kinds = wait_until(lambda: [i["kind"] for i in services.timeline.items(attempt_id)],
                       lambda kinds: "recording_ready" in kinds, what="timeline item")  # fmt: skip
    assert kinds[-1] == "recording_ready"


def test_a_recording_that_ended_before_its_first_chunk_is_still_finalized(
    settings_factory: Callable[..., Any], services_factory: Callable[..., Any], chunks: list[bytes]
) -> None:
    """The last chunk arrives after submit (the recorder flushes on stop): closed at creation."""
    services = services_factory(settings_factory(**FAST))
    (who,) = seed(services.app)
    attempt_id = attempts.start_attempt(who.app, who.candidate, who.exam_id).id
    attempts.submit(who.app, who.candidate, attempt_id)
    record(who.app, who.candidate, attempt_id, services.media, chunks)
    wait_until(lambda: services.recordings.recording(attempt_id),
               lambda r: r is not None and r["status"] == "Ready", timeout=120, what="Ready")  # fmt: skip
    assert event_names(services.app, attempt_id).count("RecordingClosed") == 1


def test_recording_off_runs_nothing_recording_related(
    settings_factory: Callable[..., Any], services_factory: Callable[..., Any]
) -> None:
    services = services_factory(settings_factory(enable_video_recording=False, **FAST))
    names = {runner.follower.name for runner in services.followers}
    assert RECORDINGS not in names and CLOSER not in names
    assert not [p for p in services.background if getattr(p, "name", "") == "recording-finalizer"]
    assert services.app.video_recording is False


def test_the_closer_replayed_from_the_start_closes_nothing_twice(
    settings_factory: Callable[..., Any], services_factory: Callable[..., Any], chunks: list[bytes]
) -> None:
    """A crash between a close and its tracking row replays the ending: the replay records nothing."""
    services = services_factory(settings_factory(**FAST))
    (who,) = seed(services.app)
    attempt_id = recorded_attempt(who, services.media, chunks)
    wait_until(lambda: services.recordings.recording(attempt_id),
               lambda r: r is not None and r["status"] == "Ready", timeout=120, what="Ready")  # fmt: skip
    (closer,) = [r for r in services.followers if r.follower.name == CLOSER]
    closer.stop()
    (view,) = services.views
    view.reset(services.app.name)  # as if no tracking row had been written
    replay = FollowerRunner(services.app, RecordingCloser(services.app, view))
    assert replay.catch_up() == 1  # the Submitted event, handled again ...
    assert event_names(services.app, attempt_id).count("RecordingClosed") == 1  # ... closing nothing
    assert replay.catch_up() == 0
