from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.errors import InvalidInput
from domain.flat_state import FlatState

MAX_RETENTION_DAYS = 3650


class Settings(FlatState, Aggregate):
    """Product-wide settings an admin changes at run time."""

    TOPIC = "smart_exam.Settings"

    class Created(Aggregate.Created):
        TOPIC = "smart_exam.Settings.Created"

    class Initialised(Aggregate.Created):
        TOPIC = "smart_exam.Settings.Initialised"
        retention_days: int

    class RetentionDaysChanged(Aggregate.Event):
        TOPIC = "smart_exam.Settings.RetentionDaysChanged"
        by: UUID
        old: int
        new: int

    @staticmethod
    def create_id(**_: object) -> UUID:
        return ids.settings_id()

    @event(Initialised)
    def __init__(self, retention_days: int) -> None:
        self.retention_days = retention_days

    def change_retention_days(self, by: UUID, days: int) -> None:
        if not 1 <= days <= MAX_RETENTION_DAYS:
            raise InvalidInput(f"retentionDays must be between 1 and {MAX_RETENTION_DAYS}")
        if days != self.retention_days:
            self._retention_changed(by=by, old=self.retention_days, new=days)

    @event(RetentionDaysChanged)
    def _retention_changed(self, by: UUID, old: int, new: int) -> None:
        self.retention_days = new
