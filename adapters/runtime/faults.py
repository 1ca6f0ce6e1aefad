"""Where a follower that cannot apply an event says so: one row per failing follower, in a table
beside the read models (so the server sees what its projection child or `smart-exam worker`
reports), read by GET /healthz. The follower keeps retrying with backoff; the row goes away
with the follower's next progress."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any, Protocol

from projections.rows import Update, Upsert

log = logging.getLogger(__name__)
NAME = "health"
TABLES = [
    "CREATE TABLE IF NOT EXISTS follower_faults (name TEXT PRIMARY KEY, position BIGINT, topic TEXT, "
    "error TEXT, failed_at TEXT, failures INTEGER, active INTEGER)",
]
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class FaultReporter(Protocol):
    def report(self, name: str, position: int, topic: str, error: BaseException) -> None: ...

    def clear(self, name: str) -> None: ...


class NoFaultLog:
    def report(self, name: str, position: int, topic: str, error: BaseException) -> None:
        pass

    def clear(self, name: str) -> None:
        pass


class FollowerFaults:
    def __init__(self, view: Any) -> None:
        self.view = view

    def report(self, name: str, position: int, topic: str, error: BaseException) -> None:
        text = _UNPRINTABLE.sub("?", f"{type(error).__name__}: {error}")[:500]
        try:
            self.view.apply(
                [
                    Upsert(
                        "follower_faults",
                        {"name": name},
                        {
                            "position": position,
                            "topic": topic[:200],
                            "error": text,
                            "failed_at": datetime.now(UTC),
                            "active": 1,
                        },
                        {"failures": 1},
                    )
                ]
            )
        except Exception:  # the store itself is down: the log line is all we can give
            log.exception("could not record the failure of follower %s", name)

    def clear(self, name: str) -> None:
        try:
            self.view.apply([Update("follower_faults", {"name": name}, {"active": 0, "failures": 0})])
        except Exception:
            log.exception("could not clear the failure of follower %s", name)

    def current(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.view.query(
            "SELECT name, position, topic, error, failed_at, failures FROM follower_faults "
            "WHERE active = 1 ORDER BY name"
        )
        return rows

    def close(self) -> None:
        self.view.datastore.close()
