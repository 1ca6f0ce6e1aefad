"""Operator settings: the retention period of recorded media."""

from __future__ import annotations

from application.access import ADMINS, Actor, require_role
from application.app import SmartExamApp
from domain import ids
from domain.errors import NotFound
from domain.settings import Settings


def get_settings(app: SmartExamApp) -> Settings:
    try:
        return app.load(Settings, ids.settings_id(), "settings")
    except NotFound:
        return Settings(retention_days=app.default_retention_days)


def change_retention_days(app: SmartExamApp, actor: Actor, days: int) -> Settings:
    require_role(actor, *ADMINS)
    settings = get_settings(app)
    settings.change_retention_days(actor.user_id, days)
    app.commit(settings)
    return settings


def read_settings(app: SmartExamApp, actor: Actor) -> Settings:
    require_role(actor, *ADMINS)
    return get_settings(app)
