"""Row changes a projection asks its view to apply, and the view ports it relies on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from eventsourcing.persistence import Tracking


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


class RowView(Protocol):
    """What a projection needs from its storage: atomic writes with tracking, and reads."""

    def write(self, tracking: Tracking, changes: Sequence[Change]) -> None: ...

    def insert_tracking(self, tracking: Tracking) -> None: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def query_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[dict[str, Any]]]: ...

    def max_tracking_id(self, application_name: str) -> int | None: ...

    def reset(self, application_name: str) -> None: ...
