"""Translate the product's settings into eventsourcing's environment keys."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from application.config import AppSettings
from domain.errors import InvalidInput


def postgres_params(database_url: str) -> dict[str, str]:
    url = urlparse(database_url)
    if not url.path.strip("/"):
        raise InvalidInput("SMART_EXAM_DATABASE_URL must name a database: postgresql://u:p@h:5432/db")
    return {
        "POSTGRES_DBNAME": unquote(url.path.strip("/")),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
    }


def store_env(settings: AppSettings, *, database: str, create_tables: bool = True) -> dict[str, str]:
    """Environment for one eventsourcing application or view.

    `database` names the SQLite file (one per application or projection, because
    SQLite's tracking table is keyed by application name only); Postgres shares one database.
    """
    cache = {"AGGREGATE_CACHE_MAXSIZE": "20000", "AGGREGATE_CACHE_FASTFORWARD": "y"}
    if settings.uses_postgres:
        return {
            **cache,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            **postgres_params(settings.database_url),
            "POSTGRES_POOL_SIZE": "4",
            "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_LOCK_TIMEOUT": "10",
            # eventsourcing's DB functions are one per schema: another eventsourcing app in the
            # same schema would replace them and receive our inserts. Plain inserts are safe.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "CREATE_TABLE": "y" if create_tables else "n",
        }
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(settings.data_dir / f"{database}.sqlite3"),
        "SQLITE_LOCK_TIMEOUT": "10",
        "CREATE_TABLE": "y",
        **cache,
    }
    if database == "events":
        env["APPLICATION_RECORDER_TOPIC"] = "adapters.sqlite_subscribe:SubscribingSQLiteRecorder"
    return env
