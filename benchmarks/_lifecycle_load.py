"""The lifecycle benchmark's two sides: the bare eventsourcing loop (run as
`lifecycle.py --_bare-worker`, its own process) and the product over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    self_cpu_seconds,
)
from _http import HttpxConnection, RawConnection
from _server import ProductServer, settings_for


# -- the bare baseline (runs in its own process: --_bare-worker) ---------------------------------
def bare_worker(args: argparse.Namespace) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from uuid import UUID, uuid4

    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    from adapters.store_config import store_env

    class Ticket(Aggregate):
        @event("Started")
        def __init__(self, owner: str, started_at: str) -> None:
            self.owner, self.started_at, self.status = owner, started_at, "active"

        @event("Submitted")
        def submit(self, score: int) -> None:
            self.status, self.score = "submitted", score

    class BareApp(Application[UUID]):
        name = "BareBench"

    env = store_env(settings_for(Path(args.data_dir), args.database_url), database="bare")
    app = BareApp(env=env)

    def pair(latencies: dict[str, list[float]]) -> None:
        t0 = time.perf_counter()
        ticket = Ticket(owner=str(uuid4()), started_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
        app.save(ticket)
        t1 = time.perf_counter()
        again: Ticket = app.repository.get(ticket.id)
        again.submit(score=1)
        app.save(again)
        t2 = time.perf_counter()
        latencies["start"].append(t1 - t0)
        latencies["submit"].append(t2 - t1)

    def run(n: int) -> dict[str, Any]:
        latencies: dict[str, list[float]] = {"start": [], "submit": []}
        remaining = [n]
        lock = threading.Lock()
        deadline = time.monotonic() + args.phase_timeout

        def loop() -> None:
            while time.monotonic() < deadline:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                pair(latencies)

        cpu0, t0 = time.process_time(), time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            for f in [pool.submit(loop) for _ in range(args.concurrency)]:
                f.result()
        wall = time.perf_counter() - t0
        return {
            "pairs": len(latencies["submit"]),
            "wall": wall,
            "cpu": time.process_time() - cpu0,
            "start": latencies["start"],
            "submit": latencies["submit"],
        }

    if args.warmup:
        run(args.warmup)
    result = run(args.pairs)
    app.close()
    print("RESULT " + json.dumps(result), flush=True)


def run_bare(
    data_dir: Path, database_url: str, pairs: int, concurrency: int, warmup: int, phase_timeout: float
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).with_name("lifecycle.py")),
        "--_bare-worker",
        "--data-dir",
        str(data_dir),
        "--database-url",
        database_url,
        "--pairs",
        str(pairs),
        "--concurrency",
        str(concurrency),
        "--warmup",
        str(warmup),
        "--phase-timeout",
        str(phase_timeout),
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=phase_timeout + 60)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            out: dict[str, Any] = json.loads(line[7:])
            out["errors"] = []
            return out
    raise RuntimeError(
        f"bare worker failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    )


# -- the product over HTTP -----------------------------------------------------------------------
async def run_product(
    server: ProductServer,
    exam_id: str,
    tokens: list[str],
    concurrency: int,
    client_kind: str,
    phase_timeout: float,
) -> dict[str, Any]:
    import httpx

    latencies: dict[str, list[float]] = {"start": [], "submit": []}
    errors: list[dict[str, Any]] = []
    queue = list(range(len(tokens)))
    queue.reverse()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    client = httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30.0, trust_env=False)

    def connection() -> Any:
        return RawConnection(server.port) if client_kind == "raw" else HttpxConnection(client)

    async def call(conn: Any, kind: str, path: str, token: str) -> tuple[int, bytes, float]:
        t0 = time.perf_counter()
        try:
            status, body = await conn.request("POST", path, {"Authorization": f"Bearer {token}"})
        except Exception as exc:  # timeouts, resets: count them, keep going
            await conn.close()
            errors.append({"request": f"POST {path}", "status": None, "response": repr(exc)[:300]})
            return 0, b"", time.perf_counter() - t0
        elapsed = time.perf_counter() - t0
        if status != 200:
            errors.append(
                {"request": f"POST {path}", "status": status, "response": body[:300].decode(errors="replace")}
            )
        else:
            latencies[kind].append(elapsed)
        return status, body, elapsed

    async def worker() -> None:
        conn = connection()
        try:
            while queue:
                token = tokens[queue.pop()]
                status, body, _ = await call(conn, "start", f"/api/exams/{exam_id}/attempts", token)
                if status != 200:
                    continue
                attempt_id = json.loads(body)["attemptId"]
                await call(conn, "submit", f"/api/attempts/{attempt_id}/submit", token)
        finally:
            await conn.close()

    cpu_server0, cpu_self0 = server.cpu(), self_cpu_seconds()
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    done, pending = await asyncio.wait(tasks, timeout=phase_timeout)
    for t in pending:
        t.cancel()
    if pending:
        errors.append(
            {
                "request": "phase",
                "status": None,
                "response": f"phase timeout after {phase_timeout:.0f}s; {len(queue)} pairs not started",
            }
        )
    for t in done:
        if t.exception() is not None:
            errors.append({"request": "worker", "status": None, "response": repr(t.exception())[:300]})
    wall = time.perf_counter() - t0
    await client.aclose()
    return {
        "pairs": len(latencies["submit"]),
        "wall": wall,
        "errors": errors,
        "cpu": server.cpu() - cpu_server0,
        "client_cpu": self_cpu_seconds() - cpu_self0,
        "start": latencies["start"],
        "submit": latencies["submit"],
    }
