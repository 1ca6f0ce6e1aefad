"""The finalize process manager's machinery: the follower that closes an attempt's Recording when
the attempt ends, and the periodic loop that turns closed recordings into MP4s.

Both run wherever the followers run (server threads, the projection child, `smart-exam worker`),
and only when SMART_EXAM_ENABLE_VIDEO_RECORDING is on.

Closing exactly once: the closer's tracking lives in a view of its own. Each event's command
(`on_attempt_ended`) is decided on the Recording as stored and records nothing when it is
already closed, and tracking is recorded after it: a crash in between replays the event, and
the replay records nothing. So every ending closes its Recording once, never twice, never not.

Finalizing: one thread per process, one recording at a time (ffmpeg takes a core; the machine
may have two). The work is claimed on the Recording itself with a lease, so any number of
processes on one PostgreSQL finalize each recording once; a crashed worker's lease runs out and
another (or the same host restarted, with a new worker id) claims it again."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from functools import partial
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking, TrackingRecorder

from adapters.ffmpeg import FfmpegTranscoder
from adapters.runtime.bus import FOLLOWER_PROGRESS
from application.app import SmartExamApp
from application.config import AppSettings
from application.finalize import ENDING_EVENTS, finalize_due, finalize_recording, on_attempt_ended
from application.ports import MessageBus, Payload
from domain.recordings import Recording
from media_storage import MediaStorage
from media_storage.recordings import RecordingFiles
from projections.recordings import RecordingQueries, RecordingsProjection
from projections.rows import RowView, topics_of

log = logging.getLogger(__name__)
CLOSER = "recording_closer"
WAKE_GAP_SECONDS = 0.2


def worker_id() -> str:
    """Unique per host and process (a restarted process is another worker: its old lease must
    run out before anyone claims again)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RecordingCloser:
    """A Follower (adapters/runtime/followers.py) on Attempt.Submitted / Expired / ForceEnded."""

    name = CLOSER
    topics: Sequence[str] = topics_of(*ENDING_EVENTS)

    def __init__(self, app: SmartExamApp, view: RowView) -> None:
        self.app = app
        self.view = view

    @property
    def tracking(self) -> TrackingRecorder:
        return self.view

    def process(self, event: DomainEventProtocol[Any], tracking: Tracking) -> None:
        on_attempt_ended(self.app, event)  # type: ignore[arg-type]  # the topics say which
        self.view.insert_tracking(tracking)

    def batch(self) -> AbstractContextManager[None]:
        return self.view.batch()


class FinalizerLoop:
    """One thread: a round of `finalize_due` every `interval` seconds, and soon after the
    recordings read model moves (a Recording closed: finalize it now, not at the next tick)."""

    def __init__(self, task: Callable[[], object], interval: float, bus: MessageBus) -> None:
        self.task, self.interval, self.bus = task, interval, bus
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._unsubscribe: Callable[[], None] = lambda: None
        self._thread = threading.Thread(target=self._run, daemon=True, name="recording-finalizer")

    name = "recording-finalizer"

    def _progressed(self, payload: Payload) -> None:
        if payload.get("name") in (None, RecordingsProjection.name):
            self._wake.set()

    def start(self) -> None:
        self._unsubscribe = self.bus.subscribe(FOLLOWER_PROGRESS, self._progressed)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._unsubscribe()
        if self._thread.is_alive():
            self._thread.join(5)  # ffmpeg may be running: the daemon thread dies with the process

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.task()
            except Exception:
                log.exception("recording finalizer round failed")
            self._stopping.wait(WAKE_GAP_SECONDS)  # our own events wake us too: not in a tight loop


def finalizer_loop(
    app: SmartExamApp, queries: RecordingQueries, settings: AppSettings, media: MediaStorage, bus: MessageBus
) -> FinalizerLoop:
    """Every `finalize_interval_seconds` (and when woken): close what ended unseen, finalize
    what is due, one recording at a time."""
    transcoder = FfmpegTranscoder(settings.ffmpeg)
    task = partial(
        finalize_due,
        app,
        queries,
        transcoder,
        RecordingFiles(media),
        worker_id(),
        timedelta(seconds=settings.finalize_lease_seconds),
        settings.finalize_grace_seconds,
    )
    return FinalizerLoop(task, settings.finalize_interval_seconds, bus)


def finalize_by_hand(
    app: SmartExamApp,
    settings: AppSettings,
    media: MediaStorage,
    attempt_id: uuid.UUID,
    progress: Callable[[float], None] | None = None,
) -> Recording:
    """`smart-exam recordings finalize`: now, whatever the backoff says (a fresh lease of
    another worker still refuses: Conflict)."""
    return finalize_recording(
        app,
        FfmpegTranscoder(settings.ffmpeg),
        RecordingFiles(media),
        attempt_id,
        worker_id(),
        app.clock.now(),
        timedelta(seconds=settings.finalize_lease_seconds),
        progress,
        ignore_backoff=True,
    )
