"""Request and response bodies of the admin routes (settings, retention)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field, StrictInt

from domain.settings import MAX_RETENTION_DAYS
from interfaces.schemas import Camel


class SettingsIn(Camel):
    retention_days: StrictInt = Field(ge=1, le=MAX_RETENTION_DAYS)


class SettingsOut(Camel):
    retention_days: int
    max_retention_days: int = MAX_RETENTION_DAYS


class ExpiredRecordingOut(Camel):
    attempt_id: UUID
    ended_at: datetime
    bytes: int


class OrphanOut(Camel):
    path: str
    bytes: int
    files: int
    reason: str


class RetentionRunOut(Camel):
    dry_run: bool
    retention_days: int
    cutoff: datetime
    recordings: list[ExpiredRecordingOut]
    orphans: list[OrphanOut]
    skipped: int
    bytes_freed: int
