"""The product under test: `python -m interfaces.cli serve` in its own process, started from
this checkout (or another one: `root`), with its users registered beforehand."""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import HOST, PASSWORD, ROOT, cpu_seconds, free_port, no_proxy_env, stop_process, wait_http_ok


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


def product_server(
    args: argparse.Namespace, data_dir: Path, database_url: str, root: Path = ROOT
) -> ProductServer:
    extra = dict(item.split("=", 1) for item in args.server_env)
    return ProductServer(
        data_dir, database_url, extra_env=extra, worker_process=args.worker_process, root=root
    )


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
    root: Path = ROOT  # the checkout whose code is run (another one: an A/B of two versions)

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
        env["PYTHONPATH"] = str(self.root) + os.pathsep + env.get("PYTHONPATH", "")
        if self.worker_process:
            env["SMART_EXAM_RUN_PROJECTIONS"] = "false"
            with open(self.data_dir.parent / f"worker-{self.port}.log", "wb") as out:
                self.worker = subprocess.Popen(
                    [sys.executable, "-m", "interfaces.cli", "worker"],
                    cwd=self.root,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "interfaces.cli", "serve", "--host", HOST, "--port", str(self.port)],
                cwd=self.root,
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
    from application.users import register_user

    services = bootstrap(
        settings_for(data_dir, database_url),
        hasher=Argon2Hasher(time_cost=1, memory_cost=8192),
        run_workers=False,
    )
    try:
        for username, role in users:
            register_user(services.app, username, PASSWORD, role)
    finally:
        services.close()
