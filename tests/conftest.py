"""Shared fixtures: a throwaway PostgreSQL server, per-test stores on SQLite or PostgreSQL,
a fake clock and a fast password hasher.

PostgreSQL: started once per session with initdb/pg_ctl on a free loopback port in a temp dir
(password auth, user `smart`). When the binaries are missing the tests that need them skip,
except in CI (`CI=true`), where a missing server fails the run.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # plain `pytest` without an installed package
    sys.path.insert(0, str(ROOT))
TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # `from fakes import FakeClock`, `from helpers import ...`
    sys.path.insert(0, str(TESTS))

from fakes import FakeClock  # noqa: E402
from helpers import close_services, skip_or_fail  # noqa: E402

PG_USER = "smart"
PG_UNPRIVILEGED_USERS = ("nobody", "smartexam-pg")
PG_FIXTURES = {"postgres_server", "postgres_url", "fresh_pg_url"}


# -- markers -----------------------------------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Any test that reaches for a PostgreSQL fixture is marked `postgres` (select with -m)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & PG_FIXTURES and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's SMART_EXAM_* (or eventsourcing SMARTEXAM_*) variables never leak in."""
    for key in list(os.environ):
        if key.startswith(("SMART_EXAM_", "SMARTEXAM_")):
            monkeypatch.delenv(key, raising=False)


# -- PostgreSQL ----------------------------------------------------------------------------------
def _pg_binaries() -> tuple[str, str] | None:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl

    def version(bindir: str) -> int:
        name = Path(bindir).parent.name
        return int(name) if name.isdigit() else 0

    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        i, p = Path(bindir, "initdb"), Path(bindir, "pg_ctl")
        if i.exists() and p.exists():
            return str(i), str(p)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unprivileged_account() -> pwd.struct_passwd:
    """initdb refuses to run as root: find (or create) an account to run the server as."""
    for name in PG_UNPRIVILEGED_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "smartexam-pg"],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam("smartexam-pg")


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    datadir: Path

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10)

    def create_database(self, name: str | None = None) -> str:
        from psycopg import sql

        name = name or f"t_{uuid.uuid4().hex[:16]}"
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template1").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def connection_count(self, dbname: str) -> int:
        with self._admin() as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [dbname]
            ).fetchone()
            return int(row[0])


def _start_postgres(base: Path) -> tuple[PostgresServer, Callable[[], None]]:
    binaries = _pg_binaries()
    if binaries is None:
        skip_or_fail("PostgreSQL server binaries (initdb, pg_ctl) are not on PATH")
    assert binaries is not None
    initdb, pg_ctl = binaries

    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:
        account = _unprivileged_account()
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        os.chown(base, account.pw_uid, account.pw_gid)
    base.chmod(0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")

    password = secrets.token_hex(16)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    if run_as:
        os.chown(pwfile, run_as["user"], run_as["group"])
    datadir, log = base / "data", base / "postgres.log"

    def run(cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cmd, env=env, cwd=base, capture_output=True, text=True, timeout=timeout, **run_as
        )

    done = run([initdb, "-D", str(datadir), "--username", PG_USER, "--auth=scram-sha-256",
                f"--pwfile={pwfile}", "--encoding=UTF8", "--no-locale", "--no-sync"])  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"initdb failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    pwfile.unlink()

    last_error = ""
    for _ in range(5):  # a free port can be taken between probing and binding: retry
        port = _free_port()
        options = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        done = run([pg_ctl, "-D", str(datadir), "-o", options, "-l", str(log), "-w", "-t", "60",
                    "start"])  # fmt: skip
        if done.returncode == 0:
            break
        last_error = f"{done.stdout}\n{done.stderr}\n{log.read_text() if log.exists() else ''}"
    else:
        pytest.fail(f"pg_ctl start failed:\n{last_error}")

    def stop() -> None:
        stopped = run([pg_ctl, "-D", str(datadir), "-m", "fast", "-w", "-t", "30", "stop"], 60)
        if stopped.returncode != 0:
            run([pg_ctl, "-D", str(datadir), "-m", "immediate", "-w", "stop"], 60)

    server = PostgresServer("127.0.0.1", port, PG_USER, password, datadir)
    return server, stop


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL for the whole session; stopped and deleted at the end."""
    parent = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
    base = Path(tempfile.mkdtemp(prefix="smart-exam-pg-", dir=parent))
    stop: Callable[[], None] | None = None
    try:
        server, stop = _start_postgres(base)
        yield server
    finally:
        if stop is not None:
            stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """A database shared by the whole session (not isolated: prefer fresh_pg_url)."""
    return postgres_server.create_database("smart_exam")


@pytest.fixture
def fresh_pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A brand-new, empty database for this test only."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name)
    yield url
    with contextlib.suppress(Exception):
        postgres_server.drop_database(name)


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
