"""Deterministic ids: the same facts always name the same aggregate, which makes
creation idempotent and lets optimistic concurrency pick one winner."""

from uuid import UUID, uuid5

NAMESPACE = UUID("6d2f7a8e-4c1b-4f57-9a55-3f1f0c2d9b11")


def attempt_id(exam_id: UUID, candidate_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"attempt:{exam_id}:{candidate_id}")


def proctor_session_id(attempt_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"proctor-session:{attempt_id}")


def recording_id(attempt_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"recording:{attempt_id}")


def user_id(username: str) -> UUID:
    return uuid5(NAMESPACE, f"user:{username.strip().lower()}")


def settings_id() -> UUID:
    return uuid5(NAMESPACE, "settings")


SAMPLE_ATTEMPT_IDS = (
    uuid5(NAMESPACE, "sample-attempt:1"),
    uuid5(NAMESPACE, "sample-attempt:2"),
)
