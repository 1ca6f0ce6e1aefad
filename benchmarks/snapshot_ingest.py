"""Webcam snapshot ingest: uploads/s and latency of the product versus a bare upload endpoint.

Product: `python -m interfaces.cli serve` (own process); C candidates, each with an active
  proctored attempt, upload a ~30 KB 640x480 JPEG (made with Pillow) to
  POST /api/Proctor/snapshot/{attemptId} (Content-Type: image/jpeg) one after the other.
Baseline: a bare Starlette endpoint in its own uvicorn process with the same uvicorn settings as
  the product (uvicorn.run(app, host, port, log_level="info")), on another port, that streams
  the body to a temp file, fsyncs it, renames it into place and fsyncs the directory (the same
  durability steps as the product's media storage), same disk, same clients and body.
Rounds alternate product/bare; the ratio is taken per round and the median reported.

Target (issue): product/bare uploads/s >= 0.6.

    python benchmarks/snapshot_ingest.py             # ~30-60 s
    python benchmarks/snapshot_ingest.py --uploads 1000 --rounds 5 --concurrency 16 --client raw
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    HOST,
    ROOT,
    HttpxConnection,
    RawConnection,
    Watchdog,
    add_server_options,
    bench_tempdir,
    clean_environment,
    cpu_seconds,
    create_exam,
    free_port,
    latency_summary,
    login,
    machine_line,
    maybe_postgres,
    median,
    ms,
    no_proxy_env,
    precreate_users,
    print_table,
    product_server,
    raise_fd_limit,
    self_cpu_seconds,
    stop_process,
    sync_get_json,
    sync_post_json,
    verdict,
    wait_exam_visible,
    wait_http_ok,
)

TARGET_RATIO = 0.6
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
                    str(Path(__file__).resolve()),
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


def print_round(n: int, res: dict[str, Any]) -> None:
    p, b = res["product"], res["bare"]
    ps, bs = latency_summary(p["latencies"]), latency_summary(b["latencies"])
    print(
        f"  round {n}: product {rate(p):6.1f}/s p50 {ms(ps['p50'])} p99 {ms(ps['p99'])} ({p['ok']} ok, "
        f"{len(p['errors'])} errors, server CPU {p['cpu'] / p['wall']:.0%}, "
        f"client CPU {p['client_cpu'] / p['wall']:.0%}) | "
        f"bare {rate(b):6.1f}/s p50 {ms(bs['p50'])} p99 {ms(bs['p99'])} "
        f"(server CPU {b['cpu'] / b['wall']:.0%}, "
        f"client CPU {b['client_cpu'] / b['wall']:.0%}) | "
        f"product/bare {rate(p) / rate(b):.2f}",
        flush=True,
    )
    for e in (p["errors"] + b["errors"])[:5]:
        print(f"           ERROR {e['request']} -> {e['status']}: {e['response']}")


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


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=150, help="uploads per round and side (default 150)")
    parser.add_argument("--rounds", type=int, default=6, help="alternating product/bare rounds (default 6)")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="concurrent uploaders = candidates (default 8)"
    )
    parser.add_argument(
        "--warmup", type=int, default=40, help="untimed warm-up uploads per side (default 40)"
    )
    parser.add_argument(
        "--jpeg-bytes", type=int, default=30_000, help="approximate JPEG size (default 30000)"
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="a minimal asyncio HTTP/1.1 client (default: httpx.AsyncClient costs so much "
        "client CPU on 2 cores that it caps the bare endpoint at ~600/s) or httpx",
    )
    parser.add_argument("--postgres", action="store_true", help="run the product on a throwaway PostgreSQL")
    add_server_options(parser)
    parser.add_argument("--phase-timeout", type=float, default=90.0, help="max seconds per timed phase")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="watchdog for the whole run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (stores, media, logs)")
    parser.add_argument("--_serve-bare", dest="serve_bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    clean_environment()
    if args.serve_bare:
        serve_bare(args.port, args.dir)
        return 0
    raise_fd_limit()
    backend = "postgres" if args.postgres else "sqlite"
    body = make_jpeg(args.jpeg_bytes)
    print(f"snapshot ingest benchmark {time.strftime('%Y-%m-%d %H:%M:%S')} | {machine_line()}")
    print(
        f"=== {backend}: {args.rounds} rounds x {args.uploads} uploads per side, "
        f"concurrency {args.concurrency}, "
        f"JPEG 640x480 {len(body)} bytes, client {args.client}",
        flush=True,
    )
    base = bench_tempdir("bench-snapshot-")
    with Watchdog(args.max_seconds), maybe_postgres(args.postgres, "smart_exam") as (url, pg):
        if pg is not None:
            print(f"    PostgreSQL on 127.0.0.1:{pg.port}: {pg.settings_line()}", flush=True)
        data_dir = base / "product"
        cands = [f"cand{i:03d}" for i in range(args.concurrency)]
        precreate_users(
            data_dir, url, [("admin", "admin"), ("proctor", "proctor"), *((c, "candidate") for c in cands)]
        )
        server = product_server(args, data_dir, url).start()
        bare = BareServer(base / "bare")
        try:
            admin, proctor = login(server.base_url, "admin"), login(server.base_url, "proctor")
            tokens = [login(server.base_url, c) for c in cands]
            exam = create_exam(server.base_url, admin, "snapshot bench", 3600, True)
            wait_exam_visible(server.base_url, admin, exam)
            attempts = []
            for t in tokens:
                status, out = sync_post_json(server.base_url, f"/api/exams/{exam}/attempts", None, t)
                if status != 200:
                    raise RuntimeError(f"start attempt -> {status}: {out}")
                attempts.append(str(out["attemptId"]))
            product_paths = [f"/api/Proctor/snapshot/{a}" for a in attempts]
            bare_paths = [f"/upload/{a}" for a in attempts]

            def product(n: int) -> dict[str, Any]:
                return asyncio.run(
                    upload_phase(
                        server.port,
                        product_paths,
                        tokens,
                        body,
                        n,
                        args.client,
                        server.cpu,
                        args.phase_timeout,
                    )
                )

            def bare_run(n: int) -> dict[str, Any]:
                return asyncio.run(
                    upload_phase(
                        bare.port, bare_paths, tokens, body, n, args.client, bare.cpu, args.phase_timeout
                    )
                )

            warm_p = product(args.warmup)
            bare_run(args.warmup)
            rounds: list[dict[str, Any]] = []
            for r in range(args.rounds):
                res: dict[str, Any] = {}
                for which in ("product", "bare") if r % 2 == 0 else ("bare", "product"):
                    res[which] = product(args.uploads) if which == "product" else bare_run(args.uploads)
                print_round(r + 1, res)
                rounds.append(res)
            uploaded = warm_p["ok"] + sum(r["product"]["ok"] for r in rounds)
            recorded = wait_snapshot_counts(server.base_url, proctor, attempts, uploaded)
            media = base / "product" / "MediaStorage" / "proctor-snapshots"
            files = sum(1 for _ in media.rglob("*.jpg")) if media.exists() else 0
        finally:
            bare.stop()
            server.stop()
        problems = server.log_lines("ERROR") + server.log_lines("Traceback")
    if args.keep:
        print(f"    kept {base} (server logs: {server.log}, {bare.log})")
    else:
        shutil.rmtree(base, ignore_errors=True)

    prod = [rate(r["product"]) for r in rounds]
    bare_rates = [rate(r["bare"]) for r in rounds]
    ratios = [p / b for p, b in zip(prod, bare_rates, strict=True)]
    pooled = (sum(r["product"]["ok"] for r in rounds) / sum(r["product"]["wall"] for r in rounds)) / (
        sum(r["bare"]["ok"] for r in rounds) / sum(r["bare"]["wall"] for r in rounds)
    )
    pl = latency_summary([x for r in rounds for x in r["product"]["latencies"]])
    bl = latency_summary([x for r in rounds for x in r["bare"]["latencies"]])
    errors = sum(len(r["product"]["errors"]) for r in rounds) + len(warm_p["errors"])
    p99_ratio = median(
        [
            latency_summary(r["product"]["latencies"])["p99"] / latency_summary(r["bare"]["latencies"])["p99"]
            for r in rounds
        ]
    )
    rows = [
        ("measure", "result", "target", "verdict"),
        (
            f"[{backend}] product uploads/s (median of {len(rounds)})",
            f"{median(prod):.0f}  (rounds: {', '.join(f'{x:.0f}' for x in prod)})",
            "",
            "",
        ),
        (
            f"[{backend}] bare uploads/s",
            f"{median(bare_rates):.0f}  (rounds: {', '.join(f'{x:.0f}' for x in bare_rates)})",
            "",
            "",
        ),
        (
            f"[{backend}] ratio product/bare uploads/s (median of per-round)",
            f"{median(ratios):.2f}  (rounds: {', '.join(f'{x:.2f}' for x in ratios)})",
            ">= 0.6",
            verdict(median(ratios) >= TARGET_RATIO),
        ),
        (f"[{backend}] ratio product/bare, pooled (all uploads / all time)", f"{pooled:.2f}", "", ""),
        (
            f"[{backend}] product p50 / p99 / max",
            f"{ms(pl['p50'])} / {ms(pl['p99'])} / {ms(pl['max'])}",
            "",
            "",
        ),
        (f"[{backend}] bare p50 / p99 / max", f"{ms(bl['p50'])} / {ms(bl['p99'])} / {ms(bl['max'])}", "", ""),
        (f"[{backend}] ratio p99 product/bare (median of per-round)", f"{p99_ratio:.2f}", "", ""),
        (
            f"[{backend}] snapshots the product recorded (read model) / files / 201s",
            f"{recorded} / {files} / {uploaded}",
            "all equal",
            verdict(recorded == files == uploaded),
        ),
        (
            f"[{backend}] product request errors / ERROR lines in log",
            f"{errors} / {len(problems)}",
            "0 / 0",
            verdict(errors == 0 and not problems),
        ),
    ]
    print("\nSummary (absolute figures and ratios measured side by side in this run):")
    print_table(rows)
    for line in problems[:10]:
        print(f"    server log: {line}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "product_per_s": prod,
                    "bare_per_s": bare_rates,
                    "ratios": ratios,
                    "product_latency": pl,
                    "bare_latency": bl,
                    "jpeg_bytes": len(body),
                    "recorded": recorded,
                    "files": files,
                    "uploaded": uploaded,
                },
                indent=2,
            )
        )
    ok = all(r[3] != "MISS" for r in rows[1:])
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
