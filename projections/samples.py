"""Two in-memory sample sessions so an empty Proctor Center still shows what it will look like.
Never stored; stable ids; every action on them is refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.ids import SAMPLE_ATTEMPT_IDS

_SAMPLES = (("Sarah Ahmed", 12), ("Omar Khalid", 35))


def sample_sessions(now: datetime) -> list[dict[str, Any]]:
    rows = []
    for index, ((name, risk), attempt_id) in enumerate(zip(_SAMPLES, SAMPLE_ATTEMPT_IDS, strict=True)):
        started = (now - timedelta(minutes=10 + 7 * index)).replace(microsecond=0)
        rows.append(
            {
                "attempt_id": str(attempt_id),
                "session_id": str(attempt_id),
                "exam_id": "00000000-0000-0000-0000-000000000000",
                "exam_title": "Sample exam",
                "candidate_id": "00000000-0000-0000-0000-000000000000",
                "candidate_name": name,
                "attempt_status": "Active",
                "session_status": "Active",
                "started_at": started.isoformat(),
                "deadline": (started + timedelta(hours=1)).isoformat(),
                "ended_at": None,
                "score": None,
                "snapshot_count": 0,
                "last_snapshot_at": None,
                "latest_snapshot_id": None,
                "flag_count": 0,
                "warning_count": 0,
                "last_warning": None,
                "last_warning_at": None,
                "live_status": "Offline",
                "recording_status": "None",
                "position": 0,
                "is_sample": True,
                "sample_risk": risk,
            }
        )
    return rows
