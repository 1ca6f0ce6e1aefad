"""Row changes a projection asks its view to apply, and the view ports it relies on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.utils import get_topic


def topics_of(*event_classes: type) -> tuple[str, ...]:
    """The stored topics a projection subscribes to (filters the notification log in SQL)."""
    return tuple(get_topic(cls) for cls in event_classes)


@dataclass(frozen=True)
class Upsert:
    """Insert the row, or on key conflict overwrite `values` and add `increments`."""

    table: str
    key: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    increments: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Update:
    """Update existing rows matching `where` (equality on every column)."""

    table: str
    where: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    increments: dict[str, int] = field(default_factory=dict)


Change = Upsert | Update


class RowView(TrackingRecorder, ABC):
    """What a projection needs from its storage: atomic writes with tracking, and reads."""

    @abstractmethod
    def write(self, tracking: Tracking, changes: Sequence[Change]) -> None:
        """Apply the changes and record the tracking row in ONE transaction."""

    @abstractmethod
    def query_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[dict[str, Any]]]:
        """Run several reads (portable SQL, `?` placeholders) in one transaction."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.query_many([(sql, params)])[0]

    @abstractmethod
    def batch(self) -> AbstractContextManager[None]:
        """One transaction around many writes: all of them commit together, or none."""

    @abstractmethod
    def reset(self, application_name: str) -> None:
        """Empty the tables and forget the tracking position (before a rebuild)."""
