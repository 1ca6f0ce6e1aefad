"""Table creation when several PostgreSQL processes start at once, one at a time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from adapters.store_config import postgres_params
from application.config import AppSettings

MIGRATION_LOCK = 7_404_211


def postgres_conninfo(settings: AppSettings) -> str:
    p = postgres_params(settings.database_url)
    return psycopg.conninfo.make_conninfo(
        dbname=p["POSTGRES_DBNAME"],
        host=p["POSTGRES_HOST"],
        port=p["POSTGRES_PORT"],
        user=p["POSTGRES_USER"],
        password=p["POSTGRES_PASSWORD"],
    )


@contextmanager
def migration_lock(settings: AppSettings) -> Iterator[None]:
    """eventsourcing's CREATE TABLE races when processes start together (note §9.1): an
    advisory lock makes them take turns. SQLite: nothing to do."""
    if not settings.uses_postgres:
        yield
        return
    with psycopg.connect(postgres_conninfo(settings), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
