"""Composition root: settings in, a running set of services out. Nothing else wires adapters."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psycopg

from adapters.change_signal import ChangeSignal, PostgresChangeListener
from adapters.clock import SystemClock
from adapters.passwords import Argon2Hasher
from adapters.periodic import PeriodicTask
from adapters.projection_worker import ProjectionWorker
from adapters.read_models import build_view
from adapters.sql_view import CHANGES_CHANNEL
from adapters.store_config import postgres_params, store_env
from application import attempts
from application.app import SmartExamApp
from application.config import AppSettings
from application.ports import Clock, PasswordHasher
from interfaces.worker import ProjectionProcess
from media_storage import MediaStorage
from projections import proctor_center, timeline
from projections.center_queries import CenterQueries
from projections.timeline import TimelineQueries

log = logging.getLogger(__name__)
MIGRATION_LOCK = 7_404_211


@dataclass
class Services:
    settings: AppSettings
    app: SmartExamApp
    center: CenterQueries
    timeline: TimelineQueries
    media: MediaStorage
    changes: ChangeSignal
    secret_key: str
    workers: list[ProjectionWorker] = field(default_factory=list)
    background: list[Any] = field(default_factory=list)

    def start(self) -> None:
        for part in [*self.workers, *self.background]:
            part.start()

    @property
    def changes_are_signalled(self) -> bool:
        """Whether `changes` is told about every read-model change (else: poll the views)."""
        in_child = any(isinstance(part, ProjectionProcess) for part in self.background)
        return bool(self.workers) or in_child or self.settings.uses_postgres

    def wake_workers(self) -> None:
        for worker in self.workers:
            worker.wake()

    def close(self) -> None:
        for part in [*self.background, *self.workers]:
            part.stop()
        self.app.close()
        for queries in (self.center, self.timeline):
            queries.view.datastore.close()  # type: ignore[attr-defined]


def postgres_conninfo(settings: AppSettings) -> str:
    p = postgres_params(settings.database_url)
    return psycopg.conninfo.make_conninfo(
        dbname=p["POSTGRES_DBNAME"],
        host=p["POSTGRES_HOST"],
        port=p["POSTGRES_PORT"],
        user=p["POSTGRES_USER"],
        password=p["POSTGRES_PASSWORD"],
    )


@contextmanager
def _migration_lock(settings: AppSettings) -> Iterator[None]:
    """Several Postgres processes may start at once: create tables one at a time."""
    if not settings.uses_postgres:
        yield
        return
    with psycopg.connect(postgres_conninfo(settings), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])


def _secret_key(settings: AppSettings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def bootstrap(
    settings: AppSettings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    run_workers: bool = True,
) -> Services:
    clock = clock or SystemClock()
    with _migration_lock(settings):
        app = SmartExamApp(
            env=store_env(settings, database="events"),
            clock=clock,
            hasher=hasher or Argon2Hasher(),
            default_retention_days=settings.retention_days,
        )
        center_view = build_view(settings, "proctor_center", proctor_center.TABLES)
        timeline_view = build_view(settings, "timeline", timeline.TABLES)
    center = CenterQueries(center_view, settings.risk_weights, settings.enable_sample_sessions, app.name)
    app.active_attempts = center
    changes = ChangeSignal()
    services = Services(
        settings,
        app,
        center,
        TimelineQueries(timeline_view, app.name),
        MediaStorage(settings.media_path),
        changes,
        _secret_key(settings),
    )
    poll = 1.0 if settings.uses_postgres else 0.1  # PostgreSQL wakes us by NOTIFY; SQLite by polling
    if run_workers and settings.run_projections and settings.projections_in_own_process:
        services.background.append(ProjectionProcess(settings, app.recorder, changes))
    elif run_workers and settings.run_projections:
        services.workers += [
            ProjectionWorker(app, proctor_center.ProctorCenterProjection(center_view), changes.notify, poll),
            ProjectionWorker(app, timeline.TimelineProjection(timeline_view), poll_seconds=poll),
        ]
        services.background.append(
            PeriodicTask("expiry-sweep", settings.expiry_sweep_seconds, partial(attempts.expire_overdue, app))
        )
    if settings.uses_postgres:
        conninfo = postgres_conninfo(settings)
        services.background.append(PostgresChangeListener(conninfo, CHANGES_CHANNEL, changes.notify))
        if services.workers:
            channel = app.recorder.channel_name  # type: ignore[attr-defined]
            services.background.append(PostgresChangeListener(conninfo, channel, services.wake_workers))
    return services
