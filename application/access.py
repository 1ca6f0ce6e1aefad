"""Per-object authorization: who may touch which attempt."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.errors import PermissionDenied
from domain.users import STAFF_ROLES


@dataclass(frozen=True)
class Actor:
    user_id: UUID
    role: str
    display_name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise PermissionDenied(f"this action needs one of the roles: {', '.join(roles)}")


def require_owner(actor: Actor, candidate_id: UUID) -> None:
    if actor.user_id != candidate_id:
        raise PermissionDenied("only the candidate of this attempt may do this")


def require_owner_or_staff(actor: Actor, candidate_id: UUID) -> None:
    if not actor.is_staff and actor.user_id != candidate_id:
        raise PermissionDenied("you may not see this attempt")
