"""The snapshot benchmark's parts: the bare upload endpoint it is compared with (run as
`snapshot_ingest.py --_serve-bare`), the JPEG, and one timed phase of uploads."""

from __future__ import annotations

import asyncio
import io
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    HOST,
    ROOT,
    cpu_seconds,
    free_port,
    no_proxy_env,
    self_cpu_seconds,
    stop_process,
    wait_http_ok,
)
from _http import (
    HttpxConnection,
    RawConnection,
    create_exam,
    login,
    sync_get_json,
    sync_post_json,
    wait_exam_visible,
)

MAX_BYTES = 2 * 1024 * 1024  # the product's default max_snapshot_bytes


# -- the bare endpoint (--_serve-bare) -----------------------------------------------------------
def serve_bare(port: int, root: Path) -> None:
    from uuid import uuid4

    import uvicorn
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    incoming, final_dir = root / ".incoming", root / "snapshots"
    incoming.mkdir(parents=True, exist_ok=True)
    final_dir.mkdir(parents=True, exist_ok=True)

    def commit(f: Any, temp: Path, final: Path) -> None:
        f.flush()
        os.fsync(f.fileno())
        f.close()
        os.replace(temp, final)
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    async def upload(request: Request) -> JSONResponse:
        temp = incoming / f"{uuid4().hex}.part"
        f = open(temp, "wb")  # noqa: SIM115 - closed in commit or below
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise ValueError("too large")
                f.write(chunk)
            snapshot_id = uuid4()
            await run_in_threadpool(commit, f, temp, final_dir / f"{snapshot_id}.jpg")
        except BaseException:
            f.close()
            temp.unlink(missing_ok=True)
            raise
        return JSONResponse({"snapshotId": str(snapshot_id), "size": size}, status_code=201)

    async def healthz(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route("/upload/{attempt_id}", upload, methods=["POST"]), Route("/healthz", healthz)]
    )
    uvicorn.run(app, host=HOST, port=port, log_level="info")


class BareServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.log = root.parent / f"bare-{self.port}.log"
        root.mkdir(parents=True, exist_ok=True)
        env = no_proxy_env(dict(os.environ))
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).with_name("snapshot_ingest.py")),
                    "--_serve-bare",
                    "--port",
                    str(self.port),
                    "--dir",
                    str(root),
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_http_ok(f"http://{HOST}:{self.port}/healthz", self.proc, 60, self.log)

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        stop_process(self.proc, "bare server")


# -- the load ------------------------------------------------------------------------------------
def make_jpeg(target_bytes: int = 30_000) -> bytes:
    """A 640x480 webcam-like JPEG (smooth gradient + noise), quality chosen to land near target."""
    import random

    from PIL import Image, ImageFilter

    rng = random.Random(42)
    noise = Image.frombytes("L", (640, 480), bytes(rng.getrandbits(8) for _ in range(640 * 480)))
    noise = noise.filter(ImageFilter.GaussianBlur(1.2))
    grad = Image.linear_gradient("L").resize((640, 480))
    img = Image.merge("RGB", (Image.blend(grad, noise, 0.5), noise, Image.blend(noise, grad.rotate(90), 0.4)))
    best = b""
    lo, hi = 5, 95
    while lo <= hi:
        q = (lo + hi) // 2
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q)
        data = buf.getvalue()
        if not best or abs(len(data) - target_bytes) < abs(len(best) - target_bytes):
            best = data
        if len(data) < target_bytes:
            lo = q + 1
        else:
            hi = q - 1
    return best


async def upload_phase(
    port: int,
    paths: list[str],
    tokens: list[str],
    body: bytes,
    count: int,
    client_kind: str,
    server_cpu: Any,
    phase_timeout: float,
) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors: list[dict[str, Any]] = []
    remaining = [count]
    client = httpx.AsyncClient(
        base_url=f"http://{HOST}:{port}",
        timeout=30.0,
        trust_env=False,
        limits=httpx.Limits(max_connections=len(paths), max_keepalive_connections=len(paths)),
    )

    async def worker(path: str, token: str) -> None:
        conn = RawConnection(port) if client_kind == "raw" else HttpxConnection(client)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}
        try:
            while remaining[0] > 0:
                remaining[0] -= 1
                t0 = time.perf_counter()
                try:
                    status, data = await conn.request("POST", path, headers, body)
                except Exception as exc:
                    await conn.close()
                    errors.append({"request": f"POST {path}", "status": None, "response": repr(exc)[:300]})
                    continue
                if status == 201:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors.append(
                        {
                            "request": f"POST {path}",
                            "status": status,
                            "response": data[:300].decode(errors="replace"),
                        }
                    )
        finally:
            await conn.close()

    cpu_s0, cpu_c0 = server_cpu(), self_cpu_seconds()
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(worker(p, t)) for p, t in zip(paths, tokens, strict=True)]
    done, pending = await asyncio.wait(tasks, timeout=phase_timeout)
    for t in pending:
        t.cancel()
    if pending:
        errors.append(
            {"request": "phase", "status": None, "response": f"phase timeout after {phase_timeout:.0f}s"}
        )
    for t in done:
        if t.exception() is not None:
            errors.append({"request": "worker", "status": None, "response": repr(t.exception())[:300]})
    wall = time.perf_counter() - t0
    await client.aclose()
    return {
        "ok": len(latencies),
        "wall": wall,
        "latencies": latencies,
        "errors": errors,
        "cpu": server_cpu() - cpu_s0,
        "client_cpu": self_cpu_seconds() - cpu_c0,
    }


def rate(r: dict[str, Any]) -> float:
    return r["ok"] / r["wall"] if r["wall"] > 0 else math.nan


def wait_snapshot_counts(
    base_url: str, proctor: str, attempts: list[str], expected: int, timeout: float = 30
) -> int:
    """The product's own view of how many snapshots it recorded (read model caught up)."""
    deadline, total = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        total = 0
        for a in attempts:
            status, out = sync_get_json(base_url, f"/api/Proctor/sessions/{a}", proctor)
            total += out["session"]["snapshotCount"] if status == 200 else 0
        if total >= expected:
            return total
        time.sleep(0.5)
    return total


@dataclass
class Uploaders:
    """A product server's candidates, each with an active proctored attempt to upload to."""

    base_url: str
    proctor: str
    tokens: list[str]
    attempts: list[str]

    @property
    def paths(self) -> list[str]:
        return [f"/api/Proctor/snapshot/{a}" for a in self.attempts]


def prepare_uploaders(base_url: str, candidates: list[str]) -> Uploaders:
    admin, proctor = login(base_url, "admin"), login(base_url, "proctor")
    tokens = [login(base_url, c) for c in candidates]
    exam = create_exam(base_url, admin, "snapshot bench", 3600, True)
    wait_exam_visible(base_url, admin, exam)
    attempts = []
    for t in tokens:
        status, out = sync_post_json(base_url, f"/api/exams/{exam}/attempts", None, t)
        if status != 200:
            raise RuntimeError(f"start attempt -> {status}: {out}")
        attempts.append(str(out["attemptId"]))
    return Uploaders(base_url, proctor, tokens, attempts)
