"""Attempt lifecycle throughput: start+submit pairs over HTTP versus a bare eventsourcing loop.

Product: `python -m interfaces.cli serve` (own process), C concurrent HTTP clients, each pair is
  POST /api/exams/{exam}/attempts  then  POST /api/attempts/{attempt}/submit
  (one attempt per candidate per exam: the candidates are pre-registered and logged in before
  timing, and every round uses a new exam).
Baseline: a bare eventsourcing Application (own process) on the same backend with the same
  persistence settings (the product's store_env: SQLite file in WAL mode in a temp dir, or the
  same PostgreSQL database), same number of pairs and same concurrency (threads); a pair is
  "new aggregate + save" then "get + one event + save".
Rounds alternate product/baseline so machine noise hits both; the ratio is taken per round and
the median reported.

Targets (issue): >= 300 start+submit pairs/s on SQLite on 2 cores, and API/bare >= 0.5.

    python benchmarks/lifecycle.py                      # SQLite, ~30-60 s (+~45 s with --postgres)
    python benchmarks/lifecycle.py --postgres           # SQLite, then a throwaway PostgreSQL
    python benchmarks/lifecycle.py --pairs 1000 --rounds 5 --concurrency 8 --client httpx
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    ROOT,
    Watchdog,
    bench_tempdir,
    clean_environment,
    latency_summary,
    machine_line,
    median,
    ms,
    print_table,
    raise_fd_limit,
    self_cpu_seconds,
    verdict,
)
from _http import HttpxConnection, RawConnection, create_exam, login, wait_exam_visible
from _postgres import maybe_postgres
from _server import ProductServer, add_server_options, precreate_users, product_server, settings_for

TARGET_PAIRS_PER_S = 300.0
TARGET_RATIO = 0.5


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
        str(Path(__file__).resolve()),
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


# -- one backend ---------------------------------------------------------------------------------
def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    base = bench_tempdir(f"bench-lifecycle-{backend}-")
    print(
        f"\n=== {backend}: {args.rounds} rounds x {args.pairs} pairs, concurrency {args.concurrency}, "
        f"client {args.client}, proctoring {'on' if args.proctoring else 'off'}  (temp dir {base})",
        flush=True,
    )
    with maybe_postgres(backend == "postgres", "smart_exam") as (url, pg):
        bare_url = ""
        if pg is not None:
            print(f"    PostgreSQL on 127.0.0.1:{pg.port}: {pg.settings_line()}", flush=True)
            # Same server and settings, but its own database: with POSTGRES_ENABLE_DB_FUNCTIONS=y
            # eventsourcing 9.5.6 names its insert function per schema (es_insert_events_uuid),
            # so a second application in the product's schema would take over the product's
            # inserts (see README, "Problems found").
            bare_url = pg.create_database("bare_bench")
        product_dir, bare_dir = base / "product", base / "bare"
        candidates = [f"cand{i:05d}" for i in range(args.pairs)]
        t = time.perf_counter()
        precreate_users(product_dir, url, [("admin", "admin"), *((c, "candidate") for c in candidates)])
        print(
            f"    registered {len(candidates)} candidates in {time.perf_counter() - t:.1f}s (untimed)",
            flush=True,
        )
        server = product_server(args, product_dir, url)
        server.start()
        try:
            admin = login(server.base_url, "admin")
            t = time.perf_counter()
            tokens = [login(server.base_url, c) for c in candidates]
            print(
                f"    logged in {len(tokens)} candidates in {time.perf_counter() - t:.1f}s (untimed)",
                flush=True,
            )
            exams = [
                create_exam(server.base_url, admin, f"bench {backend} round {r}", 3600, args.proctoring)
                for r in range(args.rounds + 1)
            ]
            wait_exam_visible(server.base_url, admin, exams[-1])
            warm = min(args.warmup, len(tokens))
            asyncio.run(
                run_product(
                    server, exams[0], tokens[:warm], args.concurrency, args.client, args.phase_timeout
                )
            )
            rounds: list[dict[str, Any]] = []
            for r in range(args.rounds):
                order = ("product", "bare") if r % 2 == 0 else ("bare", "product")
                result: dict[str, Any] = {}
                for which in order:
                    if which == "product":
                        result["product"] = asyncio.run(
                            run_product(
                                server,
                                exams[r + 1],
                                tokens,
                                args.concurrency,
                                args.client,
                                args.phase_timeout,
                            )
                        )
                    else:
                        result["bare"] = run_bare(
                            bare_dir,
                            bare_url,
                            args.pairs,
                            args.concurrency,
                            args.warmup if r == 0 else 0,
                            args.phase_timeout,
                        )
                print_round(r + 1, result)
                rounds.append(result)
        finally:
            server.stop()
        problems = server.log_lines("ERROR") + server.log_lines("Traceback")
    if args.keep:
        print(f"    kept {base} (server log: {server.log})")
    else:
        shutil.rmtree(base, ignore_errors=True)
    return {"backend": backend, "rounds": rounds, "server_log_errors": problems}


def rate(res: dict[str, Any]) -> float:
    return res["pairs"] / res["wall"] if res["wall"] > 0 else math.nan


def print_round(n: int, result: dict[str, Any]) -> None:
    p, b = result["product"], result["bare"]
    ps, pu = latency_summary(p["start"]), latency_summary(p["submit"])
    bs, bu = latency_summary(b["start"]), latency_summary(b["submit"])
    ratio = rate(p) / rate(b) if rate(b) else math.nan
    print(
        f"  round {n}: API {rate(p):7.1f} pairs/s ({p['pairs']} ok, {len(p['errors'])} errors, "
        f"server CPU {p['cpu'] / p['wall']:.0%}, client CPU {p['client_cpu'] / p['wall']:.0%}) | "
        f"bare {rate(b):7.1f} pairs/s (CPU {b['cpu'] / b['wall']:.0%}) | API/bare {ratio:.2f}",
        flush=True,
    )
    print(
        f"           API  start p50 {ms(ps['p50'])} p99 {ms(ps['p99'])} | "
        f"submit p50 {ms(pu['p50'])} p99 {ms(pu['p99'])}"
    )
    print(
        f"           bare start p50 {ms(bs['p50'])} p99 {ms(bs['p99'])} | "
        f"submit p50 {ms(bu['p50'])} p99 {ms(bu['p99'])}"
    )
    for e in p["errors"][:5]:
        print(f"           ERROR {e['request']} -> {e['status']}: {e['response']}")


def summarize(res: dict[str, Any]) -> tuple[list[tuple[str, str, str, str]], bool, dict[str, Any]]:
    backend, rounds = res["backend"], res["rounds"]
    api = [rate(r["product"]) for r in rounds]
    bare = [rate(r["bare"]) for r in rounds]
    ratios = [a / b for a, b in zip(api, bare, strict=True)]
    pooled = (sum(r["product"]["pairs"] for r in rounds) / sum(r["product"]["wall"] for r in rounds)) / (
        sum(r["bare"]["pairs"] for r in rounds) / sum(r["bare"]["wall"] for r in rounds)
    )
    lat = {
        side: {k: latency_summary([x for r in rounds for x in r[side][k]]) for k in ("start", "submit")}
        for side in ("product", "bare")
    }
    errors = sum(len(r["product"]["errors"]) for r in rounds)
    api_med, ratio_med = median(api), median(ratios)
    rows = [
        (
            f"[{backend}] API start+submit pairs/s (median of {len(rounds)})",
            f"{api_med:.0f}  (rounds: {', '.join(f'{x:.0f}' for x in api)})",
            ">= 300" if backend == "sqlite" else "(none)",
            verdict(api_med >= TARGET_PAIRS_PER_S) if backend == "sqlite" else "-",
        ),
        (
            f"[{backend}] bare eventsourcing pairs/s",
            f"{median(bare):.0f}  (rounds: {', '.join(f'{x:.0f}' for x in bare)})",
            "",
            "",
        ),
        (
            f"[{backend}] ratio API/bare (median of per-round)",
            f"{ratio_med:.2f}  (rounds: {', '.join(f'{x:.2f}' for x in ratios)})",
            ">= 0.5",
            verdict(ratio_med >= TARGET_RATIO),
        ),
        (f"[{backend}] ratio API/bare, pooled (all pairs / all time)", f"{pooled:.2f}", "", ""),
        (
            f"[{backend}] API start p50 / p99",
            f"{ms(lat['product']['start']['p50'])} / {ms(lat['product']['start']['p99'])}",
            "",
            "",
        ),
        (
            f"[{backend}] API submit p50 / p99",
            f"{ms(lat['product']['submit']['p50'])} / {ms(lat['product']['submit']['p99'])}",
            "",
            "",
        ),
        (
            f"[{backend}] bare start p50 / p99",
            f"{ms(lat['bare']['start']['p50'])} / {ms(lat['bare']['start']['p99'])}",
            "",
            "",
        ),
        (
            f"[{backend}] bare submit p50 / p99",
            f"{ms(lat['bare']['submit']['p50'])} / {ms(lat['bare']['submit']['p99'])}",
            "",
            "",
        ),
        (f"[{backend}] API request errors", str(errors), "0", verdict(errors == 0)),
        (
            f"[{backend}] ERROR/Traceback lines in server log",
            str(len(res["server_log_errors"])),
            "0",
            verdict(not res["server_log_errors"]),
        ),
    ]
    ok = all(r[3] != "MISS" for r in rows)
    figures = {
        "backend": backend,
        "api_pairs_per_s": api,
        "bare_pairs_per_s": bare,
        "ratios": ratios,
        "pooled_ratio": pooled,
        "latency": lat,
        "errors": errors,
    }
    return rows, ok, figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pairs", type=int, default=300, help="start+submit pairs per round and side (default 300)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating product/bare rounds (default 5)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients / threads (default 4)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed warm-up pairs per side (default 30)")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="a minimal asyncio HTTP/1.1 client (default: on 2 cores httpx.AsyncClient takes ~20%% "
        "of a core from the server it measures) or httpx",
    )
    parser.add_argument(
        "--no-proctoring",
        dest="proctoring",
        action="store_false",
        help="exams without proctoring (start/submit then touch one aggregate, not two)",
    )
    parser.add_argument(
        "--postgres", action="store_true", help="also run on a throwaway PostgreSQL (durable settings)"
    )
    parser.add_argument("--only-postgres", action="store_true", help="run on PostgreSQL only")
    add_server_options(parser)
    parser.add_argument("--phase-timeout", type=float, default=90.0, help="max seconds per timed phase")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="watchdog for the whole run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (stores, server log)")
    parser.add_argument("--_bare-worker", dest="bare_worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    clean_environment()
    if args.bare_worker:
        bare_worker(args)
        return 0
    raise_fd_limit()
    backends = ["postgres"] if args.only_postgres else ["sqlite"] + (["postgres"] if args.postgres else [])
    print(f"lifecycle benchmark {time.strftime('%Y-%m-%d %H:%M:%S')} | {machine_line()}")
    table: list[tuple[str, str, str, str]] = [("measure", "result", "target", "verdict")]
    all_ok, figures = True, []
    with Watchdog(args.max_seconds):
        for backend in backends:
            res = bench_backend(backend, args)
            rows, ok, fig = summarize(res)
            table += rows
            all_ok &= ok
            figures.append(fig)
            for line in res["server_log_errors"][:10]:
                print(f"    server log: {line}")
    print("\nSummary (absolute figures and ratios measured side by side in this run):")
    print_table(table)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 1 if args.strict and not all_ok else 0


if __name__ == "__main__":
    sys.exit(main())
