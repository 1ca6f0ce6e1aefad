"""Shared fixtures: per-test stores on SQLite or PostgreSQL, a fake clock and a fast password
hasher. The throwaway PostgreSQL server and its fixtures are the `pg_server` plugin."""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # plain `pytest` without an installed package
    sys.path.insert(0, str(ROOT))
TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # `from fakes import FakeClock`, `from helpers import ...`
    sys.path.insert(0, str(TESTS))

pytest.register_assert_rewrite("lifecycle_policy", "lifecycle_world")  # asserting helpers
from fakes import FakeClock  # noqa: E402
from helpers import close_services  # noqa: E402

pytest_plugins = ["pg_server"]  # postgres_server, postgres_url, fresh_pg_url; the postgres mark
if TYPE_CHECKING:
    from pg_server import PostgresServer


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's SMART_EXAM_* (or eventsourcing SMARTEXAM_*) variables never leak in."""
    for key in list(os.environ):
        if key.startswith(("SMART_EXAM_", "SMARTEXAM_")):
            monkeypatch.delenv(key, raising=False)


# -- clock, hasher, settings, services -----------------------------------------------------------
@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fast_hasher() -> Any:
    from adapters.passwords import Argon2Hasher

    return Argon2Hasher(time_cost=1, memory_cost=8192)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings_factory(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """`make()` gives settings for this test's store (every call: the same store, so several
    bootstraps share it); `make(new_store=True)` gives another empty store (new data dir and,
    on PostgreSQL, a new database). Keyword overrides go to AppSettings."""
    from application.config import AppSettings

    counter = itertools.count()
    server: PostgresServer | None = None
    if backend == "postgres":
        server = request.getfixturevalue("postgres_server")
    created: list[str] = []
    main: dict[str, Any] = {}

    def allocate() -> dict[str, Any]:
        store: dict[str, Any] = {"data_dir": tmp_path / f"store{next(counter)}"}
        if server is not None:
            name = f"t_{uuid.uuid4().hex[:16]}"
            store["database_url"] = server.create_database(name)
            created.append(name)
        return store

    def make(*, new_store: bool = False, **overrides: Any) -> AppSettings:
        if new_store or not main:
            store = allocate()
            if not main:
                main.update(store)
        else:
            store = main
        values: dict[str, Any] = {
            "expiry_sweep_seconds": 3600.0,  # tests call expire_overdue() themselves
            "enable_sample_sessions": False,
            "projection_process": False,  # in-process threads: tests drive the clock and wake-ups
            **store,
            **overrides,
        }
        return AppSettings(**values)

    yield make
    if server is not None:
        for name in created:
            with contextlib.suppress(Exception):
                server.drop_database(name)


@pytest.fixture
def services_factory(
    settings_factory: Callable[..., Any], clock: FakeClock, fast_hasher: Any
) -> Iterator[Callable[..., Any]]:
    """Bootstraps the real services (started unless `start=False`) on this test's store, with
    the fake clock (or `clock=`) and the fast hasher; everything is closed at teardown."""
    from adapters.runtime.bootstrap import bootstrap

    made: list[Any] = []

    def make(
        settings: Any = None,
        *,
        run_workers: bool = True,
        start: bool = True,
        clock: FakeClock = clock,
    ) -> Any:
        settings = settings if settings is not None else settings_factory()
        services = bootstrap(settings, clock=clock, hasher=fast_hasher, run_workers=run_workers)
        made.append(services)
        if start:
            services.start()
        return services

    yield make
    for services in reversed(made):
        close_services(services)
