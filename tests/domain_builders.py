"""Aggregates built for domain tests: one exam, one candidate, one proctor, fixed ids."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from fakes import EPOCH

from domain import ids
from domain.attempts import Attempt
from domain.proctoring import ProctorSession

EXAM, CANDIDATE, PROCTOR = uuid4(), uuid4(), uuid4()


def new_attempt(duration: int = 60, proctored: bool = True) -> Attempt:
    attempt_id = ids.attempt_id(EXAM, CANDIDATE)
    return Attempt(
        exam_id=EXAM,
        candidate_id=CANDIDATE,
        started_at=EPOCH,
        deadline=EPOCH + timedelta(seconds=duration),
        proctor_session_id=ids.proctor_session_id(attempt_id) if proctored else None,
    )


def new_session() -> ProctorSession:
    return ProctorSession(
        attempt_id=ids.attempt_id(EXAM, CANDIDATE),
        exam_id=EXAM,
        candidate_id=CANDIDATE,
        started_at=EPOCH,
    )
