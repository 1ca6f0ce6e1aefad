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
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    Watchdog,
    bench_tempdir,
    clean_environment,
    machine_line,
    print_table,
    raise_fd_limit,
)
from _http import create_exam, login, wait_exam_visible
from _lifecycle_load import bare_worker, run_bare, run_product
from _lifecycle_report import print_round, summarize
from _postgres import maybe_postgres
from _server import add_server_options, precreate_users, product_server


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
