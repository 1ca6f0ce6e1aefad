"""Runs one projection in a thread: follows the application's notification log through a
subscription and applies each event exactly once. Restarts after errors with backoff; if
another process applied an event first (tracking conflict), it simply resumes after it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.projection import ApplicationSubscription, Projection

from projections.rows import RowView

log = logging.getLogger(__name__)


class ProjectionWorker:
    def __init__(
        self,
        app: Application[Any],
        projection: Projection[Any],
        on_applied: Callable[[int], None] = lambda _position: None,
    ) -> None:
        self.app = app
        self.projection = projection
        self.view: RowView = projection.view
        self.on_applied = on_applied
        self._stopping = threading.Event()
        self._subscription: ApplicationSubscription[Any] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=projection.name)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._subscription is not None:
            self._subscription.stop()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def catch_up(self, progress: Callable[[int], None] = lambda _position: None) -> int:
        """Apply everything recorded so far, synchronously (rebuilds, CLI). Returns the count."""
        applied = 0
        while True:
            start = self.view.max_tracking_id(self.app.name) or 0
            batch = self.app.recorder.select_notifications(
                start, 500, topics=self.projection.topics, inclusive_of_start=False
            )
            if not batch:
                return applied
            for notification in batch:
                event = self.app.mapper.to_domain_event(notification)
                self.projection.process_event(event, Tracking(self.app.name, notification.id))
                applied += 1
            progress(batch[-1].id)

    def _run(self) -> None:
        delay = 0.1
        while not self._stopping.is_set():
            try:
                gt = self.view.max_tracking_id(self.app.name)
                self._subscription = ApplicationSubscription(self.app, gt=gt, topics=self.projection.topics)
                with self._subscription as events:
                    for event, tracking in events:
                        self.projection.process_event(event, tracking)
                        self.on_applied(tracking.notification_id)
                        delay = 0.1
            except IntegrityError:
                continue  # another process applied it first: resume after its position
            except Exception:
                if self._stopping.is_set():
                    return
                log.exception("projection %s failed; retrying in %.1fs", self.projection.name, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, 10.0)
