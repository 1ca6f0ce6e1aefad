"""Users: registration and password login."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.access import Actor
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
    if user.disabled:
        raise NotAuthenticated("this account is disabled; ask an administrator")
    return user


def session_version(app: SmartExamApp, user_id: UUID) -> int | None:
    """The version a session token of this user must carry; None: no session is valid (the user
    is unknown or disabled). Read from the store, so every process sees a revocation."""
    try:
        user = app.load(User, user_id, "user")
    except NotFound:
        return None
    return None if user.disabled else user.session_version


def revoke_sessions(app: SmartExamApp, actor: Actor) -> int:
    """Logout: every session token of the caller stops working, on every server process."""
    user = app.load(User, actor.user_id, "user")
    user.revoke_sessions()
    return app.commit(user)


def change_password(app: SmartExamApp, actor: Actor, current: str, new: str) -> int:
    user = app.load(User, actor.user_id, "user")
    if not app.hasher.verify(user.password_hash, current):
        raise NotAuthenticated("the current password is wrong")
    if len(new) < 8:
        raise InvalidInput("the new password needs 8+ characters")
    user.change_password(app.hasher.hash(new))
    return app.commit(user)


def set_disabled(app: SmartExamApp, username: str, disabled: bool) -> User:
    """Disable (which also ends every session) or enable an account: admin CLI and API."""
    user = load_user_by_name(app, username)
    if disabled and not user.disabled:
        user.disable()
    elif not disabled and user.disabled:
        user.enable()
    app.commit(user)
    return user


def load_user_by_name(app: SmartExamApp, username: str) -> User:
    return app.load(User, ids.user_id(username), "user")


def get_user(app: SmartExamApp, user_id: UUID) -> User:
    return app.load(User, user_id, "user")
