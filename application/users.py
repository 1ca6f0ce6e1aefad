"""Users: registration and password login."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.app import SmartExamApp
from domain import ids
from domain.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from domain.users import ROLES, User


def register_user(app: SmartExamApp, username: str, password: str, role: str, display_name: str = "") -> User:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of: {', '.join(ROLES)}")
    if not username.strip() or len(password) < 8:
        raise InvalidInput("username is required and password needs 8+ characters")
    user = User(
        username=username.strip(),
        display_name=display_name.strip() or username.strip(),
        role=role,
        password_hash=app.hasher.hash(password),
    )
    try:
        app.save(user)
    except IntegrityError:
        raise Conflict(f"user {username!r} already exists") from None
    return user


def authenticate(app: SmartExamApp, username: str, password: str) -> User:
    try:
        user = app.load(User, ids.user_id(username), "user")
    except NotFound:
        app.hasher.hash(password)  # same cost either way: no user enumeration by timing
        raise NotAuthenticated("wrong username or password") from None
    if not app.hasher.verify(user.password_hash, password):
        raise NotAuthenticated("wrong username or password")
    return user


def load_user_by_name(app: SmartExamApp, username: str) -> User:
    return app.load(User, ids.user_id(username), "user")


def get_user(app: SmartExamApp, user_id: UUID) -> User:
    return app.load(User, user_id, "user")
