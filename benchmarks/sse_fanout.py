"""Proctor Center SSE fan-out: event -> delivery latency with many clients on ONE server process.

One product server (`python -m interfaces.cli serve`). The SSE clients run in a separate process
(raw asyncio sockets on uvloop, one connection each to GET /api/Proctor/sessions/stream with a
proctor's Bearer token); each records the arrival time of every `session` event. The controller
(this process) then flags one active attempt K times, spaced by --spacing, noting the time just
before each POST; the flag's response carries its position. For every (client, flag) the latency
is: first `session` event for that attempt with position >= the flag's position, minus the POST
time (CLOCK_MONOTONIC, shared by the processes of one machine).

Phases in one run: 1 client (baseline), N clients, 1 client again; the baseline figures combine
both 1-client phases. Target (issue): p99 < 250 ms with 500 clients.

    python benchmarks/sse_fanout.py                  # 500 clients, 20 flags, ~30-40 s
    python benchmarks/sse_fanout.py --clients 1000 --events 50 --client-procs 2
    python benchmarks/sse_fanout.py --postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    Watchdog,
    bench_tempdir,
    clean_environment,
    latency_summary,
    machine_line,
    ms,
    print_table,
    raise_fd_limit,
    verdict,
)
from _http import create_exam, login, sync_post_json, wait_exam_visible
from _postgres import maybe_postgres
from _server import add_server_options, precreate_users, product_server
from _sse_clients import client_main
from _sse_phase import _med, run_phase

TARGET_P99 = 0.250


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=500, help="SSE clients in the big phase (default 500)")
    parser.add_argument("--events", type=int, default=20, help="flags per phase (default 20)")
    parser.add_argument("--spacing", type=float, default=0.2, help="seconds between flags (default 0.2)")
    parser.add_argument("--settle", type=float, default=1.5, help="seconds to wait after the last flag")
    parser.add_argument(
        "--client-procs", type=int, default=1, help="processes the SSE clients are spread over"
    )
    parser.add_argument("--connect-parallel", type=int, default=50, help="connections opened at once")
    parser.add_argument("--postgres", action="store_true", help="run the product on a throwaway PostgreSQL")
    add_server_options(parser)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="watchdog for the whole run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (store, server log)")
    parser.add_argument("--_clients", dest="clients_proc", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    clean_environment()
    raise_fd_limit()
    if args.clients_proc:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(client_main(args))
        return 0

    backend = "postgres" if args.postgres else "sqlite"
    print(f"sse fan-out benchmark {time.strftime('%Y-%m-%d %H:%M:%S')} | {machine_line()}")
    print(
        f"=== {backend}: {args.clients} clients, {args.events} flags spaced {args.spacing * 1000:.0f} ms, "
        f"client processes {args.client_procs}",
        flush=True,
    )
    base = bench_tempdir("bench-sse-")
    with Watchdog(args.max_seconds), maybe_postgres(args.postgres, "smart_exam") as (url, pg):
        if pg is not None:
            print(f"    PostgreSQL on 127.0.0.1:{pg.port}: {pg.settings_line()}", flush=True)
        data_dir = base / "product"
        precreate_users(data_dir, url, [("admin", "admin"), ("proctor", "proctor"), ("cand", "candidate")])
        server = product_server(args, data_dir, url).start()
        try:
            admin, proctor, cand = (login(server.base_url, u) for u in ("admin", "proctor", "cand"))
            exam = create_exam(server.base_url, admin, "sse bench", 3600, True)
            wait_exam_visible(server.base_url, admin, exam)
            status, out = sync_post_json(server.base_url, f"/api/exams/{exam}/attempts", None, cand)
            if status != 200:
                raise RuntimeError(f"start attempt -> {status}: {out}")
            attempt = str(out["attemptId"])
            time.sleep(0.5)  # the Started event reaches the read model
            phases = [
                run_phase("1 client", 1, server, proctor, attempt, args),
                run_phase(f"{args.clients} clients", args.clients, server, proctor, attempt, args),
                run_phase("1 client (again)", 1, server, proctor, attempt, args),
            ]
        finally:
            server.stop()
        stalled = server.log_lines("dropping a stalled SSE client")
        problems = server.log_lines("ERROR") + server.log_lines("Traceback")
    if args.keep:
        print(f"    kept {base} (server log: {server.log})")
    else:
        shutil.rmtree(base, ignore_errors=True)

    base_lat = phases[0]["latencies"] + phases[2]["latencies"]
    big = phases[1]
    b, m = latency_summary(base_lat), latency_summary(big["latencies"])
    post = latency_summary(big["post_latency"])
    errors = sum(len(p["errors"]) for p in phases)
    rows = [
        ("measure", "result", "target", "verdict"),
        (
            f"[{backend}] {big['n']} clients: delivery p50 / p99 / max",
            f"{ms(m['p50'])} / {ms(m['p99'])} / {ms(m['max'])}",
            "p99 < 250 ms",
            verdict(m["p99"] < TARGET_P99),
        ),
        (
            f"[{backend}] 1 client (baseline): delivery p50 / p99 / max",
            f"{ms(b['p50'])} / {ms(b['p99'])} / {ms(b['max'])}",
            "",
            "",
        ),
        (
            f"[{backend}] ratio {big['n']} clients / 1 client: p50, p99",
            f"{m['p50'] / b['p50']:.1f}x, {m['p99'] / b['p99']:.1f}x",
            "",
            "",
        ),
        (
            f"[{backend}] clients connected",
            f"{big['ready']['connected']} of {big['n']}",
            f"{big['n']}",
            verdict(big["ready"]["connected"] == big["n"]),
        ),
        (
            f"[{backend}] clients that got every event (exact / incl. coalesced)",
            f"{big['exact_all']} / {big['covered_all']} of {big['clients']}",
            f"{big['n']}",
            verdict(big["covered_all"] == big["n"]),
        ),
        (f"[{backend}] deliveries", f"{big['delivered']} of {big['expected']}", "", ""),
        (
            f"[{backend}] flag POST latency p50 / p99 ({big['n']} clients)",
            f"{ms(post['p50'])} / {ms(post['p99'])}",
            "",
            "",
        ),
        (
            f"[{backend}] fan-out spread first->last client (p50 / max)",
            f"{ms(_med(big['spreads']))} / {ms(max(big['spreads']) if big['spreads'] else math.nan)}",
            "",
            "",
        ),
        (
            f"[{backend}] server CPU / client CPU during {big['n']}-client phase",
            f"{big['server_cpu']:.0%} / {big['client_cpu_share']:.0%}",
            "",
            "",
        ),
        (
            f"[{backend}] request errors / stalled-client drops / ERROR lines in log",
            f"{errors} / {len(stalled)} / {len(problems)}",
            "0 / 0 / 0",
            verdict(errors == 0 and not stalled and not problems),
        ),
    ]
    print("\nSummary (absolute figures and ratios measured side by side in this run):")
    print_table(rows)
    for line in (stalled + problems)[:10]:
        print(f"    server log: {line}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "baseline": b,
                    "fanout": m,
                    "phases": [{k: v for k, v in p.items() if k not in ("latencies",)} for p in phases],
                },
                indent=2,
                default=str,
            )
        )
    ok = all(r[3] != "MISS" for r in rows[1:])
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
