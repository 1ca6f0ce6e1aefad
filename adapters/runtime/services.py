"""What the routers and the CLI get: the application, the read-model queries, media storage
and the bus. Built by adapters/runtime/bootstrap.py; routers import this module, never that one."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from adapters.runtime.bus import LocalBus
from adapters.runtime.faults import FollowerFaults
from adapters.runtime.followers import FollowerRunner, wait_until_applied
from application.app import SmartExamApp
from application.config import AppSettings
from media_storage import MediaStorage
from projections.center_queries import CenterQueries
from projections.proctor_center import ProctorCenterProjection
from projections.recordings import RecordingQueries, RecordingsProjection
from projections.timeline import TimelineProjection, TimelineQueries

CENTER = ProctorCenterProjection.name
TIMELINE = TimelineProjection.name
RECORDINGS = RecordingsProjection.name
READ_WAIT_SECONDS = 2.0


@dataclass
class Services:
    settings: AppSettings
    app: SmartExamApp
    center: CenterQueries
    timeline: TimelineQueries
    media: MediaStorage
    bus: LocalBus  # application.ports.MessageBus, plus start/stop
    secret_key: str
    recordings: RecordingQueries
    followers: list[FollowerRunner] = field(default_factory=list)
    background: list[Any] = field(default_factory=list)  # anything with start() and stop()
    followers_in_child: bool = False
    views: list[Any] = field(default_factory=list)  # process managers' tracking views (the closer's)
    faults: FollowerFaults | None = None  # followers that cannot apply an event (GET /healthz)

    def start(self) -> None:
        self.bus.start()
        for part in [*self.followers, *self.background]:
            part.start()

    @property
    def changes_are_signalled(self) -> bool:
        """Whether the bus hears of every read-model change (else: poll the views)."""
        return bool(self.followers) or self.followers_in_child or self.settings.uses_postgres

    def wait_until_current(self, *read_models: str, timeout: float = READ_WAIT_SECONDS) -> bool:
        """Reads see writes: block (bounded) until each named read model has applied the event
        log as it is now. False if one did not in time (the read then shows what it has)."""
        position = self.app.recorder.max_notification_id() or 0
        views = {CENTER: self.center.view, TIMELINE: self.timeline.view, RECORDINGS: self.recordings.view}
        deadline = time.monotonic() + timeout
        return all(
            wait_until_applied(
                self.bus, views[name], self.app.name, name, position, deadline - time.monotonic()
            )
            for name in read_models
        )

    def close(self) -> None:
        for part in [*self.background, *self.followers]:
            part.stop()
        self.bus.stop()
        self.app.close()
        for view in [self.center.view, self.timeline.view, self.recordings.view, *self.views]:
            view.datastore.close()
        if self.faults is not None:
            self.faults.close()
