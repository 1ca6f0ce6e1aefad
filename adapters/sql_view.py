"""One generic tracking view per backend: executes a projection's row changes together with
its tracking row in ONE transaction (exactly-once), and runs its portable read queries."""

from __future__ import annotations

import json
import re
import threading
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier

from projections.rows import Change, RowView, Update


def sql_value(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def change_sql(change: Change) -> tuple[str, list[Any]]:
    """Portable SQL (SQLite and PostgreSQL both speak INSERT .. ON CONFLICT) with ? marks."""
    sets = [f"{c} = ?" for c in change.values] + [f"{c} = {change.table}.{c} + ?" for c in change.increments]
    if isinstance(change, Update):
        where = " AND ".join(f"{c} = ?" for c in change.where)
        params = [*change.values.values(), *change.increments.values(), *change.where.values()]
        return f"UPDATE {change.table} SET {', '.join(sets)} WHERE {where}", [sql_value(p) for p in params]
    cols = [*change.key, *change.values, *change.increments]
    params = [*change.key.values(), *change.values.values(), *change.increments.values()]
    conflict = "DO NOTHING"
    if sets:
        excluded = [f"{c} = excluded.{c}" for c in change.values] + [
            f"{c} = {change.table}.{c} + excluded.{c}" for c in change.increments
        ]
        conflict = f"DO UPDATE SET {', '.join(excluded)}"
    sql = (
        f"INSERT INTO {change.table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        f"ON CONFLICT ({', '.join(change.key)}) {conflict}"
    )
    return sql, [sql_value(p) for p in params]


def table_names(tables: list[str]) -> list[str]:
    return [m.group(1) for t in tables if (m := re.match(r"CREATE TABLE IF NOT EXISTS (\w+)", t))]


class BatchingView(RowView):
    """Writes go into the batch transaction open in this thread (one commit for many events),
    or into a transaction of their own. Reads inside a batch see the batch's own writes."""

    _local: threading.local

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]: ...

    @abstractmethod
    def _run(self, cursor: Any, sql: str, params: Sequence[Any]) -> None: ...

    @abstractmethod
    def _insert_tracking(self, c: Any, tracking: Tracking) -> None:
        """Provided by the eventsourcing tracking recorder this view also derives from."""

    def _open_cursor(self) -> Any:
        local = self.__dict__.setdefault("_local", threading.local())
        return getattr(local, "cursor", None)

    @contextmanager
    def batch(self) -> Iterator[None]:
        if self._open_cursor() is not None:
            yield
            return
        with self._transaction() as cursor:
            self._local.cursor = cursor
            try:
                yield
            finally:
                self._local.cursor = None

    def write(self, tracking: Tracking, changes: Sequence[Change]) -> None:
        with self.batch():
            cursor = self._open_cursor()
            self._insert_tracking(cursor, tracking)  # already applied -> IntegrityError, rollback
            for change in changes:
                self._run(cursor, *change_sql(change))

    def apply(self, changes: Sequence[Change]) -> None:
        """Changes with no tracking row: bookkeeping beside the read models (follower faults)."""
        with self.batch():
            cursor = self._open_cursor()
            for change in changes:
                self._run(cursor, *change_sql(change))

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.batch():
            self._insert_tracking(self._open_cursor(), tracking)

    def query_many(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[dict[str, Any]]]:
        """Several reads in one transaction: one consistent snapshot."""
        cursor = self._open_cursor()
        if cursor is None:
            with self._read_transaction() as read:
                return self._fetch(read, queries)
        return self._fetch(cursor, queries)

    def _fetch(self, cursor: Any, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[dict[str, Any]]]:
        results = []
        for sql, params in queries:
            self._run(cursor, sql, [sql_value(p) for p in params])
            results.append([dict(row) for row in cursor.fetchall()])
        return results

    @abstractmethod
    def _read_transaction(self) -> AbstractContextManager[Any]: ...


class SQLiteRowView(SQLiteTrackingRecorder, BatchingView):
    TABLES: ClassVar[list[str]] = []
    insert_tracking = BatchingView.insert_tracking  # joins the open batch (else: a 2nd writer)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.TABLES]

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self.datastore.get_connection(commit=True) as conn:
            # Read models are rebuildable from the event log and their tracking row commits with
            # them, so WAL without an fsync per commit is safe here (the event store keeps FULL).
            conn._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
            with conn.transaction(commit=True) as cursor:
                yield cursor

    def _read_transaction(self) -> AbstractContextManager[Any]:
        return self.datastore.transaction(commit=False)

    def _run(self, cursor: Any, sql: str, params: Sequence[Any]) -> None:
        cursor.execute(sql, params)

    def reset(self, application_name: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            for table in table_names(self.TABLES):
                c.execute(f"DELETE FROM {table}")
            c.execute("DELETE FROM tracking WHERE application_name = ?", [application_name])


class PostgresRowView(PostgresTrackingRecorder, BatchingView):
    TABLES: ClassVar[list[str]] = []
    insert_tracking = BatchingView.insert_tracking  # joins the open batch (else: a 2nd writer)

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(SQL(t).format() for t in self.TABLES)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=True) as cursor:
            yield cursor

    @contextmanager
    def _read_transaction(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield cursor

    def _run(self, cursor: Any, sql: str, params: Sequence[Any]) -> None:
        cursor.execute(_pg(sql), params)

    def reset(self, application_name: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            for table in table_names(self.TABLES):
                c.execute(f"DELETE FROM {table}")
            c.execute(
                SQL("DELETE FROM {0} WHERE application_name = %s").format(
                    Identifier(self.tracking_table_name)
                ),
                [application_name],
            )


def _pg(sql: str) -> Any:
    return sql.replace("%", "%%").replace("?", "%s")


def view_class(base: type[SQLiteRowView] | type[PostgresRowView], name: str, tables: list[str]) -> type:
    return type(f"{name}_{base.__name__}", (base,), {"TABLES": tables})


__all__ = ["PostgresRowView", "SQLiteDatastore", "SQLiteRowView", "view_class"]
