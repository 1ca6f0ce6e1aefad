"""A throwaway PostgreSQL for a benchmark run (initdb/pg_ctl from PATH), stopped and deleted
at the end."""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

from _common import HOST, bench_tempdir, free_port, tail

# -- a throwaway PostgreSQL ----------------------------------------------------------------------
PG_USER = "bench"


def _unprivileged_account() -> pwd.struct_passwd:
    for name in ("nobody", "smartexam-pg"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "smartexam-pg"],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam("smartexam-pg")


class PostgresServer:
    """initdb + pg_ctl on a free loopback port, password (scram) auth, durable defaults
    (fsync and synchronous_commit stay ON). Runs as an unprivileged account when we are root."""

    def __init__(self) -> None:
        self.base = bench_tempdir("bench-pg-")
        self.password = secrets.token_hex(12)
        self.port = 0
        self.datadir = self.base / "data"
        self.logfile = self.base / "postgres.log"
        self._run_as: dict[str, Any] = {}
        self._started = False

    def _run(self, cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        return subprocess.run(
            cmd, env=env, cwd=self.base, capture_output=True, text=True, timeout=timeout, **self._run_as
        )

    def start(self) -> PostgresServer:
        initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
        if not (initdb and pg_ctl):
            raise RuntimeError("initdb/pg_ctl are not on PATH")
        self.pg_ctl = pg_ctl
        if os.geteuid() == 0:
            account = _unprivileged_account()
            self._run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            os.chown(self.base, account.pw_uid, account.pw_gid)
        self.base.chmod(0o700)
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._run_as:
            os.chown(pwfile, self._run_as["user"], self._run_as["group"])
        done = self._run(
            [
                initdb,
                "-D",
                str(self.datadir),
                "--username",
                PG_USER,
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--no-locale",
            ]
        )
        pwfile.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        error = ""
        for _ in range(5):  # the probed port can be taken before postgres binds it: retry
            self.port = free_port()
            options = f"-p {self.port} -k {self.base} -c listen_addresses={HOST} -c max_connections=200"
            done = self._run(
                [
                    pg_ctl,
                    "-D",
                    str(self.datadir),
                    "-o",
                    options,
                    "-l",
                    str(self.logfile),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
            if done.returncode == 0:
                self._started = True
                return self
            error = f"{done.stdout}\n{done.stderr}\n{tail(self.logfile)}"
        raise RuntimeError(f"pg_ctl start failed:\n{error}")

    def url(self, dbname: str) -> str:
        return f"postgresql://{PG_USER}:{self.password}@{HOST}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def settings_line(self) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            rows = conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('fsync','synchronous_commit','server_version','wal_sync_method')"
            ).fetchall()
        return ", ".join(f"{n}={v}" for n, v in rows)

    def stop(self) -> None:
        if self._started:
            done = self._run(
                [self.pg_ctl, "-D", str(self.datadir), "-m", "fast", "-w", "-t", "30", "stop"], 60
            )
            if done.returncode != 0:
                self._run([self.pg_ctl, "-D", str(self.datadir), "-m", "immediate", "-w", "stop"], 60)
            self._started = False
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def maybe_postgres(enabled: bool, dbname: str) -> Iterator[tuple[str, PostgresServer | None]]:
    if not enabled:
        yield "", None
        return
    server = PostgresServer()
    try:
        server.start()
        yield server.create_database(dbname), server
    finally:
        server.stop()
