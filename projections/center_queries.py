"""Queries over the Proctor Center read model, with the explainable risk score."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import InvalidInput
from domain.proctoring import CONNECTIVITY_EVENT_TYPES, SESSION_STATUSES
from projections.rows import RowView
from projections.samples import sample_sessions

SESSION_COLUMNS = "a.*"


def risk_of(counts: Mapping[str, int], weights: Mapping[str, int]) -> tuple[int, list[dict[str, Any]]]:
    """Score 0..100 with the reasons behind it, largest first. Connectivity never counts."""
    reasons: list[dict[str, Any]] = [
        {"type": t, "count": n, "points": n * weights.get(t, 0)}
        for t, n in counts.items()
        if t not in CONNECTIVITY_EVENT_TYPES and weights.get(t, 0) > 0 and n > 0
    ]
    reasons.sort(key=lambda r: (-r["points"], r["type"]))
    return min(100, sum(r["points"] for r in reasons)), reasons


class CenterQueries:
    def __init__(
        self, view: RowView, weights: Mapping[str, int], samples_enabled: bool, app_name: str
    ) -> None:
        self.view = view
        self.app_name = app_name  # whose log the view follows: its tracking records carry the name
        self.weights = weights
        self.samples_enabled = samples_enabled

    def position(self) -> int:
        return self.view.max_tracking_id(self.app_name) or 0

    def sessions(self, status: str, include_samples: bool, now: datetime) -> list[dict[str, Any]]:
        if status not in SESSION_STATUSES:
            raise InvalidInput(f"status must be one of: {', '.join(SESSION_STATUSES)}")
        rows = self.view.query(
            f"SELECT {SESSION_COLUMNS} FROM center_attempts a "
            "WHERE a.session_status = ? ORDER BY a.started_at, a.attempt_id",
            [status],
        )
        if not rows and status == "Active" and include_samples and self.samples_enabled:
            return sample_sessions(now)
        return self._with_risk(rows)

    def session(self, attempt_id: UUID) -> dict[str, Any] | None:
        rows = self.view.query(
            f"SELECT {SESSION_COLUMNS} FROM center_attempts a WHERE a.attempt_id = ?",
            [str(attempt_id)],
        )
        return self._with_risk(rows)[0] if rows else None

    def snapshot_position(self, snapshot_id: UUID) -> int | None:
        """The position of the card showing this snapshot as its latest (None: no card does)."""
        rows = self.view.query(
            "SELECT position FROM center_attempts WHERE latest_snapshot_id = ?", [str(snapshot_id)]
        )
        return int(rows[0]["position"]) if rows else None

    def max_position(self) -> int:
        rows = self.view.query("SELECT MAX(position) AS p FROM center_attempts")
        return int(rows[0]["p"] or 0) if rows else 0

    def active_snapshot(self) -> tuple[int, list[dict[str, Any]]]:
        """Active sessions and the position they reflect, read in one transaction."""
        top, rows = self.view.query_many(
            [
                ("SELECT MAX(position) AS p FROM center_attempts", []),
                (
                    f"SELECT {SESSION_COLUMNS} FROM center_attempts a WHERE a.session_status = 'Active' "
                    "ORDER BY a.started_at, a.attempt_id",
                    [],
                ),
            ]
        )
        return int(top[0]["p"] or 0), self._with_risk(rows)

    def changed_since(self, position: int, limit: int = 500) -> list[dict[str, Any]]:
        rows = self.view.query(
            f"SELECT {SESSION_COLUMNS} FROM center_attempts a WHERE a.position > ? "
            "ORDER BY a.position LIMIT ?",
            [position, limit],
        )
        return self._with_risk(rows)

    def exams(self) -> list[dict[str, Any]]:
        return self.view.query("SELECT * FROM center_exams ORDER BY created_at, exam_id")

    def overdue_attempt_ids(self, now: datetime) -> list[UUID]:
        rows = self.view.query(
            "SELECT attempt_id FROM center_attempts WHERE attempt_status = 'Active' "
            "AND deadline < ? ORDER BY deadline LIMIT 1000",
            [now.isoformat()],
        )
        return [UUID(r["attempt_id"]) for r in rows]

    def _with_risk(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return rows
        marks = ",".join("?" * len(rows))
        counts: dict[str, dict[str, int]] = {}
        for c in self.view.query(
            f"SELECT attempt_id, type, count FROM center_event_counts WHERE attempt_id IN ({marks})",
            [r["attempt_id"] for r in rows],
        ):
            counts.setdefault(c["attempt_id"], {})[c["type"]] = c["count"]
        for row in rows:
            mine = counts.get(row["attempt_id"], {})
            row["risk_score"], row["risk_reasons"] = risk_of(mine, self.weights)
            row["connectivity_issues"] = sum(
                n
                for t, n in mine.items()
                if t in CONNECTIVITY_EVENT_TYPES and t.endswith(("failed", "lost", "offline"))
            )
            row["is_sample"] = False
        return rows
