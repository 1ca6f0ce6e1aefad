"""Builds tracking views for projections on the configured backend."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from adapters.sql_view import PostgresRowView, SQLiteRowView, view_class
from adapters.store_config import store_env
from application.config import AppSettings


def build_view(settings: AppSettings, name: str, tables: list[str], create: bool = True) -> Any:
    env = store_env(settings, database=f"read_{name}", create_tables=create)
    base = PostgresRowView if settings.uses_postgres else SQLiteRowView
    factory = InfrastructureFactory[Any].construct(env=Environment(name, env))
    return factory.tracking_recorder(view_class(base, name, tables))
