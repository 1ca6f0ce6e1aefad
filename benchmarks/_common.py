"""Shared helpers for the benchmark scripts (not part of the product).

Everything here talks to 127.0.0.1 only, every wait is bounded, and every process started here
is stopped here (by its own pid), also on Ctrl-C and when the watchdog fires.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
PASSWORD = "bench-password-1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- small utilities -----------------------------------------------------------------------------
def clean_environment() -> None:
    """A developer's SMART_EXAM_* (or eventsourcing SMARTEXAM_*) variables never leak in."""
    for key in list(os.environ):
        if key.startswith(("SMART_EXAM_", "SMARTEXAM_")):
            del os.environ[key]


def raise_fd_limit() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return math.nan
    ordered = sorted(vals)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def latency_summary(samples: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50": percentile(samples, 50),
        "p99": percentile(samples, 99),
        "max": max(samples) if samples else math.nan,
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process and its live children (the projection worker that
    `serve` starts), all threads, from /proc."""
    own = _stat(pid)
    if own is None:
        return math.nan
    total = int(own[11]) + int(own[12])
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is not None and int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def self_cpu_seconds() -> float:
    return time.process_time()


def machine_line() -> str:
    import platform

    return (
        f"{platform.node()} | {os.cpu_count()} CPUs | Python {platform.python_version()} | "
        f"{platform.system()} {platform.release()}"
    )


class Watchdog:
    """Interrupts the main thread after `seconds` (cleanup then runs in the finally blocks);
    hard-exits 60 s later if that did not finish."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        print(f"\n!! watchdog: run exceeded {self.seconds:.0f} s, interrupting", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGINT)
        killer = threading.Timer(60, lambda: os._exit(3))
        killer.daemon = True
        killer.start()


def bench_tempdir(prefix: str) -> Path:
    """A temp dir on the real disk (not tmpfs), so fsync costs what it costs in production."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BENCH_TMPDIR") or None))


# -- child processes -----------------------------------------------------------------------------
def stop_process(proc: subprocess.Popen[Any], name: str, grace: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(grace)
        return
    except subprocess.TimeoutExpired:
        print(
            f"   {name} (pid {proc.pid}) did not stop after SIGINT in {grace:.0f}s; SIGKILL", file=sys.stderr
        )
    proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def wait_http_ok(url: str, proc: subprocess.Popen[Any], timeout: float, log: Path | None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = str(exc)
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {timeout:.0f}s ({last})\n{tail(log)}")


def tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def no_proxy_env(env: dict[str, str]) -> dict[str, str]:
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(key, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """How the product under test is run: the same switches in every benchmark."""
    parser.add_argument(
        "--worker-process",
        action="store_true",
        help="projections in a separate `smart-exam worker` process (API: RUN_PROJECTIONS=false)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra product setting for this run, e.g. SMART_EXAM_RUN_PROJECTIONS=false (repeatable)",
    )


def product_server(args: argparse.Namespace, data_dir: Path, database_url: str) -> ProductServer:
    extra = dict(item.split("=", 1) for item in args.server_env)
    return ProductServer(data_dir, database_url, extra_env=extra, worker_process=args.worker_process)


@dataclass
class ProductServer:
    """`python -m interfaces.cli serve` in its own process, exactly as an operator runs it."""

    data_dir: Path
    database_url: str = ""
    port: int = 0
    extra_env: dict[str, str] | None = None
    proc: subprocess.Popen[Any] | None = None
    log: Path | None = None
    worker_process: bool = False  # projections in `smart-exam worker`, API with RUN_PROJECTIONS=false
    worker: subprocess.Popen[Any] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 90.0) -> ProductServer:
        self.port = self.port or free_port()
        self.log = self.data_dir.parent / f"server-{self.port}.log"
        env = no_proxy_env(
            {k: v for k, v in os.environ.items() if not k.startswith(("SMART_EXAM_", "SMARTEXAM_"))}
        )
        env.update(server_env(self.data_dir, self.database_url))
        env.update(self.extra_env or {})
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        if self.worker_process:
            env["SMART_EXAM_RUN_PROJECTIONS"] = "false"
            with open(self.data_dir.parent / f"worker-{self.port}.log", "wb") as out:
                self.worker = subprocess.Popen(
                    [sys.executable, "-m", "interfaces.cli", "worker"],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "interfaces.cli", "serve", "--host", HOST, "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_http_ok(f"{self.base_url}/healthz", self.proc, timeout, self.log)
        return self

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid) if self.proc else math.nan

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, "product server")
        if self.worker is not None:
            stop_process(self.worker, "projection worker")

    def log_lines(self, needle: str) -> list[str]:
        if self.log is None or not self.log.exists():
            return []
        return [ln for ln in self.log.read_text(errors="replace").splitlines() if needle in ln]


def server_env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {
        "SMART_EXAM_DATA_DIR": str(data_dir),
        # Logins happen before the timed part; the default throttle (20/min per address)
        # would otherwise make pre-logging-in hundreds of candidates take many minutes.
        "SMART_EXAM_LOGIN_ATTEMPTS_PER_MINUTE": "1000000",
    }
    if database_url:
        env["SMART_EXAM_DATABASE_URL"] = database_url
    return env


def settings_for(data_dir: Path, database_url: str) -> Any:
    from application.config import AppSettings

    return AppSettings(data_dir=data_dir, database_url=database_url)


def precreate_users(data_dir: Path, database_url: str, users: Sequence[tuple[str, str]]) -> None:
    """Registers (username, role) users in-process with a fast hasher (outside any timing).
    The server's projections pick them up from the event log when it starts."""
    from adapters.passwords import Argon2Hasher
    from adapters.runtime.bootstrap import bootstrap

    services = bootstrap(
        settings_for(data_dir, database_url),
        hasher=Argon2Hasher(time_cost=1, memory_cost=8192),
        run_workers=False,
    )
    try:
        for username, role in users:
            services.app.register_user(username, PASSWORD, role)
    finally:
        services.close()


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


# -- a minimal HTTP/1.1 keep-alive client (less client CPU than httpx) ---------------------------
class RawConnection:
    """One keep-alive connection; responses must carry Content-Length (uvicorn's JSON ones do)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self._connect()
        assert self.reader is not None and self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length, close = 0, False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise RuntimeError("chunked responses are not supported by RawConnection")
        data = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class HttpxConnection:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        r = await self.client.request(method, path, headers=headers, content=body or None)
        return r.status_code, r.content

    async def close(self) -> None:
        pass


def json_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _json_call(req: urllib.request.Request, token: str | None, timeout: float) -> tuple[int, Any]:
    """Setup calls (outside timing): urllib, no proxies, bounded timeout."""
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def sync_post_json(
    base_url: str, path: str, body: Any, token: str | None = None, timeout: float = 30
) -> tuple[int, Any]:
    req = urllib.request.Request(base_url + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    return _json_call(req, token, timeout)


def sync_get_json(base_url: str, path: str, token: str, timeout: float = 30) -> tuple[int, Any]:
    return _json_call(urllib.request.Request(base_url + path, method="GET"), token, timeout)


def login(base_url: str, username: str) -> str:
    status, body = sync_post_json(base_url, "/api/auth/login", {"username": username, "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"login {username} -> {status}: {body}")
    return str(body["accessToken"])


def create_exam(
    base_url: str, admin_token: str, title: str, duration: int = 3600, proctoring: bool = True
) -> str:
    body = {
        "title": title,
        "durationSeconds": duration,
        "proctoringEnabled": proctoring,
        "questions": [
            {"id": "q1", "text": "2+2?", "choices": ["3", "4"], "answer": 1},
            {"id": "q2", "text": "Capital of France?", "choices": ["Paris", "Rome"], "answer": 0},
        ],
    }
    status, out = sync_post_json(base_url, "/api/exams", body, admin_token)
    if status != 201:
        raise RuntimeError(f"create exam -> {status}: {out}")
    return str(out["id"])


def wait_exam_visible(base_url: str, token: str, exam_id: str, timeout: float = 60) -> None:
    """The exam list is read from the Proctor Center view: once the exam shows, the projection
    has caught up with everything recorded before it (e.g. pre-created users)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, rows = sync_get_json(base_url, "/api/exams", token)
        if status == 200 and any(r.get("id") == exam_id for r in rows):
            return
        time.sleep(0.05)
    raise RuntimeError(f"exam {exam_id} not visible in the read model after {timeout:.0f}s")


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    """rows of (measure, result, target, verdict)."""
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
