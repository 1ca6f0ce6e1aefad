"""Shared helpers for the benchmark scripts (not part of the product): small utilities and
child processes. The product server is in _server.py, PostgreSQL in _postgres.py, the HTTP
clients in _http.py.

Everything here talks to 127.0.0.1 only, every wait is bounded, and every process started here
is stopped here (by its own pid), also on Ctrl-C and when the watchdog fires.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
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


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    """rows of (measure, result, target, verdict)."""
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def summarize(
    title: str,
    rows: list[tuple[str, str, str, str]],
    problems: Sequence[str],
    figures: dict[str, Any],
    json_path: Path | None,
    strict: bool,
) -> int:
    """The closing table, the server log's complaints, the JSON file; 1 if --strict and a MISS."""
    print(f"\nSummary ({title}):")
    print_table(rows)
    for line in problems[:10]:
        print(f"    server log: {line}")
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2, default=str))
    missed = any(r[3] == "MISS" for r in rows[1:])
    return 1 if strict and missed else 0
