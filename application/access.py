"""Who may do what: named groups of the roles in domain/users.py (the only place that lists
them), and per-object authorization: who may touch which attempt."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.errors import NotFound, PermissionDenied

CANDIDATES = ("candidate",)
ADMINS = ("admin",)
STAFF = ("proctor", "supervisor", "admin")  # watch sessions: lists, details, timelines, streams
REVIEWERS = STAFF  # review an attempt afterwards: its recording, timeline and screenshots
PROCTORS = ("proctor", "admin")  # act on a session: flag, warn, terminate, force-end
AUDITORS = ("auditor", "admin")  # export the whole event log


@dataclass(frozen=True)
class Actor:
    user_id: UUID
    role: str
    display_name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise PermissionDenied(f"this action needs one of the roles: {', '.join(roles)}")


def _hidden(actor: Actor, what: str) -> None:
    """Another candidate's object answers exactly as a missing one: attempt ids derive from
    public facts, and a 403 would tell a candidate who started which exam."""
    if actor.role in CANDIDATES:
        raise NotFound(f"{what} not found")


def require_owner(actor: Actor, candidate_id: UUID, what: str = "attempt") -> None:
    """`what` names the object as the store's NotFound does, e.g. "attempt <id>"."""
    if actor.user_id != candidate_id:
        _hidden(actor, what)
        raise PermissionDenied("only the candidate of this attempt may do this")


def require_owner_or_staff(actor: Actor, candidate_id: UUID, what: str = "attempt") -> None:
    if not actor.is_staff and actor.user_id != candidate_id:
        _hidden(actor, what)
        raise PermissionDenied("you may not see this attempt")
