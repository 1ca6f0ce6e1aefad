from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import ids
from domain.flat_state import FlatState

ROLES = ("candidate", "proctor", "supervisor", "admin", "auditor")


class User(FlatState, Aggregate):
    TOPIC = "smart_exam.User"

    class Created(Aggregate.Created):
        TOPIC = "smart_exam.User.Created"

    class Registered(Aggregate.Created):
        TOPIC = "smart_exam.User.Registered"
        username: str
        display_name: str
        role: str
        password_hash: str

    class PasswordChanged(Aggregate.Event):
        TOPIC = "smart_exam.User.PasswordChanged"
        password_hash: str

    class SessionsRevoked(Aggregate.Event):
        TOPIC = "smart_exam.User.SessionsRevoked"

    class Disabled(Aggregate.Event):
        TOPIC = "smart_exam.User.Disabled"

    class Enabled(Aggregate.Event):
        TOPIC = "smart_exam.User.Enabled"

    @staticmethod
    def create_id(username: str, **_: object) -> UUID:
        return ids.user_id(username)

    @event(Registered)
    def __init__(self, username: str, display_name: str, role: str, password_hash: str) -> None:
        self.username = username
        self.display_name = display_name
        self.role = role
        self.password_hash = password_hash
        # Every session token carries the version it was issued at; a token of an older version
        # is refused. Logout, a password change and disabling all move it on.
        self.session_version = 0
        self.disabled = False

    @event(PasswordChanged)
    def change_password(self, password_hash: str) -> None:
        self.password_hash = password_hash
        self.session_version += 1

    @event(SessionsRevoked)
    def revoke_sessions(self) -> None:
        self.session_version += 1

    @event(Disabled)
    def disable(self) -> None:
        self.disabled = True
        self.session_version += 1

    @event(Enabled)
    def enable(self) -> None:
        self.disabled = False
