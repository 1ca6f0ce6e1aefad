"""Live video: time to first frame and to recover from a forced failure (the product's pages in
Chromium, 20 runs), and the signaling messages/s one server process relays, SQLite (in-process
bus) and PostgreSQL (LISTEN/NOTIFY) side by side in one run.

Media (`_live_media.py`): one `serve` process on SQLite; per run a new proctored attempt, the
  candidate's exam page publishes its fake camera, the proctor's session page views it.
  first frame = navigation start of the session page -> first decoded frame; recovery = the
  viewer's hard-reset rung forced -> first frame decoded on the new connection.
Signaling (`_live_relay.py`): P attempts, a publisher and a viewer socket each, every socket sends
  190 small `ice` messages at once (the server's per-socket budget is a 200 burst, then 50/s);
  delivered messages per second, delivery latency, server CPU share. Sides: sqlite (one
  process), postgres (one process, the bus is LISTEN/NOTIFY), postgres-2proc (publishers on
  process A, viewers on process B of the same database). Rounds alternate the order of the sides.

Targets (issue 14, loopback): first frame p95 < 1 s, recovery p95 < 3 s.

    python benchmarks/live.py                    # ~10 min; --runs 20 --pairs 50 --rounds 3
    unshare -n sh -c 'ip link set lo up && python3 benchmarks/live.py'   # loopback only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    PASSWORD,
    Watchdog,
    bench_tempdir,
    clean_environment,
    machine_line,
    median,
    ms,
    percentile,
    raise_fd_limit,
    summarize,
    verdict,
)
from _http import login
from _live_media import run_media
from _live_relay import burst, close_pairs, open_pairs, start_attempts
from _postgres import maybe_postgres
from _server import ProductServer, add_server_options, precreate_users, product_server

USERS = {"candidate": "bench-cand", "proctor": "bench-proctor", "admin": "bench-admin"}


def parse_args() -> argparse.Namespace:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--runs", type=int, default=20, help="media runs (default 20)")
    parser.add_argument("--pairs", type=int, default=50, help="attempts (socket pairs) per relay round")
    parser.add_argument("--per-socket", type=int, default=190, help="messages each socket sends (max 190)")
    parser.add_argument("--rounds", type=int, default=3, help="relay rounds per side (default 3)")
    parser.add_argument("--no-media", action="store_true", help="skip the Chromium part")
    parser.add_argument("--no-postgres", action="store_true", help="relay on SQLite only")
    parser.add_argument("--phase-timeout", type=float, default=60.0, help="max seconds per relay round")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="watchdog for the whole run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (stores, logs)")
    add_server_options(parser)
    return parser.parse_args()


def _summary(samples: list[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50": percentile(samples, 50),
        "p95": percentile(samples, 95),
        "max": max(samples, default=float("nan")),
    }


def _server(args: argparse.Namespace, folder: Path, url: str, users: bool = True) -> ProductServer:
    folder.mkdir(parents=True, exist_ok=True)
    if users:
        precreate_users(folder, url, [(name, role) for role, name in USERS.items()])
    return product_server(args, folder, url).start()


def _tokens(base_url: str) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while True:  # the users reach the read model a moment after the server starts
        try:
            return {role: login(base_url, name) for role, name in USERS.items()}
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def _round(
    args: argparse.Namespace,
    pub: ProductServer,
    view: ProductServer,
    attempts: list[str],
    candidate: str,
    proctor: str,
) -> dict[str, Any]:
    """One relay round on fresh sockets (each starts with a full message budget)."""
    pairs = await open_pairs(pub.base_url, view.base_url, attempts, candidate, proctor)
    try:
        servers = {pub.base_url: pub, view.base_url: view}
        return await burst(
            pairs, args.per_socket, args.phase_timeout, lambda: sum(s.cpu() for s in servers.values())
        )
    finally:
        await close_pairs(pairs)


def relay_rounds(
    args: argparse.Namespace, sides: dict[str, tuple[ProductServer, ProductServer]]
) -> dict[str, Any]:
    tokens: dict[str, dict[str, str]] = {}
    for server in {s.base_url: s for pair in sides.values() for s in pair}.values():
        tokens[server.base_url] = _tokens(server.base_url)
    setup = {}
    for name, (pub, view) in sides.items():
        by_pub, by_view = tokens[pub.base_url], tokens[view.base_url]
        setup[name] = (
            start_attempts(pub.base_url, by_pub["admin"], by_pub["candidate"], args.pairs),
            by_pub,
            by_view,
        )
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    for r in range(args.rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for name in order:
            pub, view = sides[name]
            attempts, by_pub, by_view = setup[name]

            out = asyncio.run(_round(args, pub, view, attempts, by_pub["candidate"], by_view["proctor"]))
            results[name].append(out)
            lat = _summary(out["latencies"])
            print(
                f"    round {r + 1} {name:<14} {out['delivered']}/{out['sent']} msgs  {out['rate']:7.0f}/s  "
                f"p50 {ms(lat['p50'])} p95 {ms(lat['p95'])}  server CPU {out['server_cpu_share']:.0%}  "
                f"client CPU {out['client_cpu_share']:.0%}  errors {len(out['errors'])}",
                flush=True,
            )
    return results


def main() -> int:
    args = parse_args()
    clean_environment()
    raise_fd_limit()
    print(
        f"live video benchmark {time.strftime('%Y-%m-%d %H:%M:%S')} | {machine_line()} | "
        f"load average {os.getloadavg()[0]:.2f} (a shared machine: figures are noisy)",
        flush=True,
    )
    base, started = bench_tempdir("bench-live-"), time.monotonic()
    rows = [("measure", "result", "target", "verdict")]
    figures: dict[str, Any] = {}
    servers: list[ProductServer] = []
    problems: list[str] = []
    with Watchdog(args.max_seconds), maybe_postgres(not args.no_postgres, "bench_live") as (pg_url, _pg):
        try:
            sqlite = _server(args, base / "sqlite", "")
            servers.append(sqlite)
            if not args.no_media:
                print(f"=== media: Chromium pages, {args.runs} runs (one server, SQLite)", flush=True)
                tokens = _tokens(sqlite.base_url)
                media = run_media(sqlite.base_url, tokens, USERS, PASSWORD, args.runs)
                figures["media"] = media
                for key, label, target in (
                    ("first_frame_s", "first frame", 1.0),
                    ("recovery_s", "recovery", 3.0),
                ):
                    s = _summary(media[key])
                    rows.append(
                        (
                            f"{label} p50 / p95 ({len(media[key])} runs)",
                            f"{ms(s['p50'])} / {ms(s['p95'])}",
                            f"p95 < {ms(target)}",
                            verdict(len(media[key]) == args.runs and s["p95"] < target),
                        )
                    )
                rows.append(
                    ("media runs failed", str(len(media["errors"])), "0", verdict(not media["errors"]))
                )
            sides: dict[str, tuple[ProductServer, ProductServer]] = {"sqlite": (sqlite, sqlite)}
            if pg_url:
                pg_a = _server(args, base / "pg-a", pg_url)
                servers.append(pg_a)
                pg_b = _server(args, base / "pg-b", pg_url, users=False)
                servers.append(pg_b)
                sides.update({"postgres": (pg_a, pg_a), "postgres-2proc": (pg_a, pg_b)})
            print(f"    ({time.monotonic() - started:.0f} s so far)", flush=True)
            print(
                f"=== signaling relay: {args.pairs} attempts x 2 sockets x {args.per_socket} messages, "
                f"{args.rounds} rounds, sides {', '.join(sides)}",
                flush=True,
            )
            relay = relay_rounds(args, sides)
            figures["relay"] = {}
            for name, outs in relay.items():
                rate = median([o["rate"] for o in outs])
                lat = _summary([v for o in outs for v in o["latencies"]])
                lost = sum(o["sent"] - o["delivered"] for o in outs)
                cpu = median([o["server_cpu_share"] for o in outs])
                figures["relay"][name] = {
                    "rate": rate,
                    "latency": lat,
                    "lost": lost,
                    "server_cpu_share": cpu,
                    "errors": [e for o in outs for e in o["errors"]][:10],
                }
                rows.append((f"relay {name}: msgs/s (median)", f"{rate:.0f}", "", ""))
                rows.append(
                    (f"relay {name}: latency p50 / p95", f"{ms(lat['p50'])} / {ms(lat['p95'])}", "", "")
                )
                rows.append(
                    (f"relay {name}: lost / server CPU", f"{lost} / {cpu:.0%}", "0 lost", verdict(lost == 0))
                )
            for server in servers:
                problems += server.log_lines("Traceback")
        finally:
            for server in servers:
                server.stop()
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    print(f"\n({time.monotonic() - started:.0f} s in all)")
    return summarize(
        "figures measured side by side in this run; 2 shared cores; 127.0.0.1 only",
        rows,
        problems,
        figures,
        args.json,
        args.strict,
    )


if __name__ == "__main__":
    sys.exit(main())
