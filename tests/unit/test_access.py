"""The named role groups use only the roles the domain defines, and mean what their names say."""

from __future__ import annotations

from uuid import uuid4

import pytest

from application import access
from application.access import ADMINS, AUDITORS, CANDIDATES, PROCTORS, REVIEWERS, STAFF, Actor, require_role
from domain.errors import PermissionDenied
from domain.users import ROLES

GROUPS = {"CANDIDATES": CANDIDATES, "ADMINS": ADMINS, "STAFF": STAFF, "REVIEWERS": REVIEWERS,
          "PROCTORS": PROCTORS, "AUDITORS": AUDITORS}  # fmt: skip


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_a_group_names_only_known_roles(name: str) -> None:
    group = GROUPS[name]
    assert group and set(group) <= set(ROLES), f"{name} = {group}"
    assert len(set(group)) == len(group)


def test_every_group_in_the_module_is_checked() -> None:
    exported = {n for n, v in vars(access).items() if n.isupper() and isinstance(v, tuple)}
    assert exported == set(GROUPS)


def test_the_groups_today() -> None:
    assert set(STAFF) == {"proctor", "supervisor", "admin"}
    assert set(PROCTORS) == {"proctor", "admin"} and set(PROCTORS) <= set(STAFF)
    assert "admin" in AUDITORS and "candidate" not in STAFF + AUDITORS


@pytest.mark.parametrize("role", ROLES)
def test_staff_is_the_staff_group(role: str) -> None:
    assert Actor(uuid4(), role).is_staff == (role in STAFF)


def test_require_role_refuses_other_roles() -> None:
    require_role(Actor(uuid4(), "proctor"), *PROCTORS)
    with pytest.raises(PermissionDenied):
        require_role(Actor(uuid4(), "supervisor"), *PROCTORS)
