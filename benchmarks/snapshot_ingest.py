"""Webcam snapshot ingest: uploads/s and latency of the product versus a bare upload endpoint.

Product: `python -m interfaces.cli serve` (own process); C candidates, each with an active
  proctored attempt, upload a ~30 KB 640x480 JPEG (made with Pillow) to
  POST /api/Proctor/snapshot/{attemptId} (Content-Type: image/jpeg) one after the other.
Baseline: a bare Starlette endpoint in its own uvicorn process with the same uvicorn settings as
  the product (uvicorn.run(app, host, port, log_level="info")), on another port, that streams
  the body to a temp file, fsyncs it, renames it into place and fsyncs the directory (the same
  durability steps as the product's media storage), same disk, same clients and body.
Rounds alternate product/bare; the ratio is taken per round and the median reported.
--compare-root DIR also runs DIR's version of the product (own server, own store) in every
  round, the three sides rotating, and reports product/old per round: an A/B in one run.

Target (issue): product/bare uploads/s >= 0.6.

    python benchmarks/snapshot_ingest.py             # ~30-60 s
    python benchmarks/snapshot_ingest.py --uploads 1000 --rounds 5 --concurrency 16 --client raw
    python benchmarks/snapshot_ingest.py --compare-root ../old-checkout   # A/B of two versions
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
    ROOT,
    Watchdog,
    bench_tempdir,
    clean_environment,
    machine_line,
    print_table,
    raise_fd_limit,
)
from _postgres import maybe_postgres
from _server import ProductServer, add_server_options, precreate_users, product_server
from _snapshot_load import (
    BareServer,
    Uploaders,
    make_jpeg,
    prepare_uploaders,
    serve_bare,
    upload_phase,
    wait_snapshot_counts,
)
from _snapshot_report import print_round, summary_rows


def parse_args() -> argparse.Namespace:
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
    parser.add_argument(
        "--compare-root",
        type=Path,
        help="another checkout of the product, run beside this one in every round (A/B)",
    )
    add_server_options(parser)
    parser.add_argument("--phase-timeout", type=float, default=90.0, help="max seconds per timed phase")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="watchdog for the whole run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (stores, media, logs)")
    parser.add_argument("--_serve-bare", dest="serve_bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def start_product(
    args: argparse.Namespace, data_dir: Path, url: str, cands: list[str], root: Path | None
) -> tuple[ProductServer, Uploaders]:
    precreate_users(
        data_dir, url, [("admin", "admin"), ("proctor", "proctor"), *((c, "candidate") for c in cands)]
    )
    server = product_server(args, data_dir, url, root or ROOT).start()
    return server, prepare_uploaders(server.base_url, cands)


def files_in(data_dir: Path) -> int:
    media = data_dir / "MediaStorage" / "proctor-snapshots"
    return sum(1 for _ in media.rglob("*.jpg")) if media.exists() else 0


def main() -> int:
    args = parse_args()
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
    if args.compare_root:
        print(f"    A/B: product = {ROOT}, old = {args.compare_root.resolve()}", flush=True)
    base = bench_tempdir("bench-snapshot-")
    servers: dict[str, ProductServer] = {}
    checks: dict[str, tuple[int, int, int]] = {}
    with Watchdog(args.max_seconds), maybe_postgres(args.postgres, "smart_exam") as (url, pg):
        if pg is not None:
            print(f"    PostgreSQL on 127.0.0.1:{pg.port}: {pg.settings_line()}", flush=True)
        cands = [f"cand{i:03d}" for i in range(args.concurrency)]
        bare: BareServer | None = None
        try:
            sides: dict[str, tuple[int, list[str], list[str], Any]] = {}
            uploaders: dict[str, Uploaders] = {}
            for name, root in [("product", None), ("old", args.compare_root)]:
                if name == "old" and root is None:
                    continue
                if name == "old" and pg is not None:
                    url = pg.create_database("smart_exam_old")
                servers[name], uploaders[name] = start_product(args, base / name, url, cands, root)
                up = uploaders[name]
                sides[name] = (servers[name].port, up.paths, up.tokens, servers[name].cpu)
            bare = BareServer(base / "bare")
            product = uploaders["product"]
            sides["bare"] = (bare.port, [f"/upload/{a}" for a in product.attempts], product.tokens, bare.cpu)

            def run(name: str, n: int) -> dict[str, Any]:
                port, paths, tokens, cpu = sides[name]
                return asyncio.run(
                    upload_phase(port, paths, tokens, body, n, args.client, cpu, args.phase_timeout)
                )

            warm = {name: run(name, args.warmup) for name in sides}
            rounds: list[dict[str, Any]] = []
            order = list(sides)
            for r in range(args.rounds):
                turn = order[r % len(order) :] + order[: r % len(order)]
                rounds.append({name: run(name, args.uploads) for name in turn})
                print_round(r + 1, rounds[-1])
            for name, up in uploaders.items():
                uploaded = warm[name]["ok"] + sum(r[name]["ok"] for r in rounds)
                recorded = wait_snapshot_counts(up.base_url, up.proctor, up.attempts, uploaded)
                checks[name] = (recorded, files_in(base / name), uploaded)
        finally:
            if bare is not None:
                bare.stop()
            for server in servers.values():
                server.stop()
        problems = {name: s.log_lines("ERROR") + s.log_lines("Traceback") for name, s in servers.items()}
    if args.keep:
        print(f"    kept {base} (server logs: {[str(s.log) for s in servers.values()]}, {bare and bare.log})")
    else:
        shutil.rmtree(base, ignore_errors=True)

    rows, figures = summary_rows(backend, rounds, warm, checks, problems)
    print("\nSummary (absolute figures and ratios measured side by side in this run):")
    print_table(rows)
    for line in problems["product"][:10]:
        print(f"    server log: {line}")
    if args.json:
        args.json.write_text(json.dumps({**figures, "jpeg_bytes": len(body)}, indent=2))
    ok = all(r[3] != "MISS" for r in rows[1:])
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
