"""Builds the services from the settings; where the followers run is bootstrap's decision.
Kept apart from bootstrap so that the projection child (projection_process.py) can build its
own services without importing the module that starts it."""

from __future__ import annotations

from functools import partial

from adapters.clock import SystemClock
from adapters.ingest.orphans import sweep_orphan_snapshots
from adapters.passwords import Argon2Hasher
from adapters.periodic import PeriodicTask
from adapters.read_models import build_view
from adapters.runtime import faults
from adapters.runtime.bus import EVENTS_RECORDED, LocalBus, PostgresBus
from adapters.runtime.faults import FollowerFaults
from adapters.runtime.followers import Follower, FollowerRunner, ReadModel
from adapters.runtime.migration import migration_lock, postgres_conninfo
from adapters.runtime.recording_work import CLOSER, RecordingCloser, finalizer_loop
from adapters.runtime.retention import retention_schedule
from adapters.runtime.secret_key import secret_key
from adapters.runtime.services import TIMELINE, Services
from adapters.store_config import store_env
from application import attempts
from application.app import SmartExamApp
from application.config import AppSettings
from application.ports import Clock, PasswordHasher
from media_storage import MediaStorage
from projections import proctor_center, recordings, timeline
from projections.center_queries import CenterQueries
from projections.recordings import RecordingQueries, RecordingsProjection
from projections.timeline import TimelineQueries


class RecordedSignal:
    """SQLite: our own inserts (the recorder's in-process registry) become EVENTS_RECORDED."""

    def __init__(self, recorder: object, bus: LocalBus) -> None:
        self.recorder, self.bus = recorder, bus

    def set(self) -> None:
        self.bus.publish(EVENTS_RECORDED, {})

    def start(self) -> None:
        getattr(self.recorder, "register")(self)  # noqa: B009 (only SQLite's recorder has it)

    def stop(self) -> None:
        getattr(self.recorder, "unregister")(self)  # noqa: B009


def assemble(
    settings: AppSettings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    follow_here: bool = False,
) -> Services:
    """`follow_here`: followers will run in this process, so the bus must hear of new events."""
    with migration_lock(settings):
        app = SmartExamApp(
            env=store_env(settings, database="events"),
            clock=clock or SystemClock(),
            hasher=hasher or Argon2Hasher(),
            default_retention_days=settings.retention_days,
            video_recording=settings.enable_video_recording,
            chunk_seconds=settings.chunk_seconds,
        )
        center_view = build_view(settings, "proctor_center", proctor_center.TABLES)
        timeline_view = build_view(settings, "timeline", timeline.TABLES)
        recordings_view = build_view(settings, "recordings", recordings.TABLES)
        # The closer's tracking: made here, under the migration lock, like every table.
        closer_view = build_view(settings, CLOSER, []) if settings.enable_video_recording else None
        fault_view = build_view(settings, faults.NAME, faults.TABLES)
        bus: LocalBus = LocalBus()
        if settings.uses_postgres:
            recorder_channel = str(getattr(app.recorder, "channel_name"))  # noqa: B009
            relays = {recorder_channel: EVENTS_RECORDED} if follow_here else {}
            bus = PostgresBus(postgres_conninfo(settings), relays)
            bus.create_table()
    center = CenterQueries(center_view, settings.risk_weights, settings.enable_sample_sessions, app.name)
    app.active_attempts = center
    return Services(
        settings,
        app,
        center,
        TimelineQueries(timeline_view),
        MediaStorage(settings.media_path),
        bus,
        secret_key(settings),
        RecordingQueries(recordings_view),
        views=[closer_view] if closer_view is not None else [],
        faults=FollowerFaults(fault_view),
    )


def follow_in_threads(services: Services) -> None:
    """The followers (read models, the recording closer) and the periodic work (expiry sweep,
    recording finalizer, retention), as threads of this process. PostgreSQL wakes them by
    NOTIFY; SQLite by our inserts, else polling. Recording off: nothing recording-related runs."""
    settings, app, bus = services.settings, services.app, services.bus
    poll = 1.0 if settings.uses_postgres else 0.1
    followers: list[Follower] = [
        ReadModel(proctor_center.ProctorCenterProjection(services.center.view)),
        ReadModel(timeline.TimelineProjection(services.timeline.view)),
    ]
    if settings.enable_video_recording:
        (closer_view,) = services.views
        recordings_model = ReadModel(RecordingsProjection(services.recordings.view))
        followers += [recordings_model, RecordingCloser(app, closer_view)]
        services.background += [
            finalizer_loop(app, services.recordings, settings, services.media, bus),
            retention_schedule(services),
        ]
    services.followers += [FollowerRunner(app, f, bus, poll, services.faults) for f in followers]
    if hasattr(app.recorder, "register"):
        services.background.append(RecordedSignal(app.recorder, bus))
    services.background.append(
        PeriodicTask("expiry-sweep", settings.expiry_sweep_seconds, partial(attempts.expire_overdue, app))
    )
    orphans = partial(
        sweep_orphan_snapshots,
        services.media,
        services.timeline,
        partial(services.wait_until_current, TIMELINE, timeout=10.0),
        settings.orphan_min_age_minutes * 60,
    )
    # First soon after startup (after a crash is when orphans appear), then periodically.
    first = min(60.0, settings.orphan_sweep_seconds)
    sweep = PeriodicTask("snapshot-orphan-sweep", settings.orphan_sweep_seconds, orphans, first_after=first)
    services.background.append(sweep)
