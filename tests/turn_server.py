"""A throwaway coturn (Debian's `turnserver`) on 127.0.0.1 for the TURN tests: shared-secret
(TURN REST) credentials, loopback peers allowed, no TLS/DTLS/CLI, its own relay port range, a
verbose log in a temp dir. Stopped by its pid. Missing `turnserver` skips locally, fails in CI.

    with running_coturn() as turn:   # turn.port, turn.secret, turn.realm, turn.log_path
        ice = turn.ice_servers_json()   # for SMART_EXAM_ICE_SERVERS
        ...
        assert turn.allocations()       # the log lines of successful allocations
"""

from __future__ import annotations

import contextlib
import json
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from helpers import skip_or_fail

STARTUP_TIMEOUT = 10.0


def _free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free TCP+UDP port on 127.0.0.1")


@dataclass
class Coturn:
    port: int
    secret: str
    realm: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def url(self, transport: str = "udp") -> str:
        return f"turn:127.0.0.1:{self.port}?transport={transport}"

    def ice_servers_json(self) -> str:
        """SMART_EXAM_ICE_SERVERS: the server adds time-limited credentials (SMART_EXAM_TURN_SECRET)."""
        return json.dumps([{"urls": [self.url()]}])

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def allocations(self) -> list[str]:
        """Log lines of allocations coturn granted (its -v log says `ALLOCATE processed, success`)."""
        return [line for line in self.log().splitlines() if "ALLOCATE processed, success" in line]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_coturn(realm: str = "smart-exam.test") -> Iterator[Coturn]:
    binary = shutil.which("turnserver")
    if binary is None:
        skip_or_fail("turnserver is missing (apt-get install coturn)")
    assert binary is not None
    workdir = Path(tempfile.mkdtemp(prefix="smart-exam-turn-"))
    port, secret = _free_port(), secrets.token_hex(16)
    low = random.randrange(20000, 60000, 100)
    log_path = workdir / "turnserver.log"
    cmd = [
        binary, "-n", "-v", f"--listening-port={port}", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
        "--use-auth-secret", f"--static-auth-secret={secret}", f"--realm={realm}", "--allow-loopback-peers",
        "--no-tls", "--no-dtls", "--no-cli", f"--min-port={low}", f"--max-port={low + 99}",
        f"--log-file={log_path}", "--simple-log", "--no-stdout-log",
        f"--pidfile={workdir / 'turnserver.pid'}",
    ]  # fmt: skip
    process = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    turn = Coturn(port, secret, realm, log_path, process)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"coturn did not start (exit {process.poll()}):\n{turn.log()[-3000:]}")
            time.sleep(0.05)
        yield turn
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
