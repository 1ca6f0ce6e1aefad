"""Recording chunk ingest: accepted chunks/s, latency and server RSS of the product versus a bare
upload endpoint, with 300 and 1,000 simulated candidates.

Product: `python -m interfaces.cli serve` (own process, SQLite); each candidate has an active
  proctored attempt and posts real ~200 KB Matroska chunks (H.264/Opus by ffmpeg from lavfi, cut
  by size) to POST /api/Proctor/video-chunk/{attemptId}?segment=0&seq=N with X-Chunk-Sha256.
Baseline: the bare Starlette endpoint of snapshot_ingest.py (own uvicorn process, same uvicorn
  settings) that streams the body to a temp file, fsyncs it, renames it and fsyncs the folder,
  same disk, same clients, same bytes.
Time-compressed: in `closed` mode (default) each candidate posts its next chunk as soon as the
  previous one is acknowledged; `--mode paced --interval 3` posts one every 3 s per candidate
  (the real recorder's rate: 1,000 candidates = 333 chunks/s offered). Rounds alternate
  product/bare; the ratio is taken per round and the median reported. After the run every
  candidate's status route must list exactly the chunks it got 201 for.

Targets (issue 13): product/bare >= 0.5; 333 chunks/s (1,000 candidates every 3 s) on 2 cores.

    python benchmarks/chunk_ingest.py     # ~2-3 min;  --candidates 1000 --mode paced --chunks 3000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    PASSWORD,
    Watchdog,
    bench_tempdir,
    clean_environment,
    cpu_seconds,
    latency_summary,
    machine_line,
    median,
    ms,
    raise_fd_limit,
    summarize,
    verdict,
)
from _http import RawConnection, sync_get_json
from _server import ProductServer, add_server_options, product_server, settings_for
from _snapshot_load import BareServer

MIME = "video/webm;codecs=h264,opus"  # what Chromium's recorder says (Matroska with H.264)


@dataclass
class Candidate:
    token: str
    attempt: str
    next_seq: int = 0
    acknowledged: set[int] = field(default_factory=set)


def make_chunks(folder: Path, chunk_bytes: int, count: int) -> list[bytes]:
    """A real recorder-like stream (640x480@20 H.264 + Opus in Matroska), cut every chunk_bytes."""
    from adapters.ffmpeg import resolve_ffmpeg

    out = folder / "source.mkv"
    seconds = max(3, round(count * chunk_bytes * 8 / 550_000))
    cmd = [resolve_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=20",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
           "-c:v", "libx264", "-preset", "veryfast", "-b:v", "500k", "-g", "40", "-c:a", "libopus",
           "-b:a", "48k", "-f", "matroska", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    data = out.read_bytes()
    return [data[i : i + chunk_bytes] for i in range(0, len(data), chunk_bytes)][:count]


def prepare(data_dir: Path, count: int) -> list[Candidate]:
    """Users, a proctored exam and one started attempt per candidate, in-process before the
    server starts; tokens signed with the store's key (no `count` logins to wait for)."""
    from adapters.passwords import Argon2Hasher
    from adapters.runtime.bootstrap import bootstrap
    from application.access import Actor
    from application.attempts import start_attempt
    from application.exams import create_exam
    from application.users import register_user
    from interfaces.tokens import TokenSigner

    hasher = Argon2Hasher(time_cost=1, memory_cost=1024)
    services = bootstrap(settings_for(data_dir, ""), hasher=hasher, run_workers=False)
    try:
        app = services.app
        signer = TokenSigner(services.secret_key, 12 * 3600)
        admin = register_user(app, "admin", PASSWORD, "admin")
        question = {"id": "q1", "text": "2+2?", "choices": ["3", "4"], "answer": 1}
        exam = create_exam(app, Actor(admin.id, "admin"), "chunk bench", 6 * 3600, True, [question])
        out = []
        for i in range(count):
            actor = Actor(register_user(app, f"cand{i:04d}", PASSWORD, "candidate").id, "candidate")
            out.append(Candidate(signer.issue(actor), str(start_attempt(app, actor, exam.id).id)))
        return out
    finally:
        services.close()


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (the projection worker), from /proc."""
    total = 0
    for status in [Path(f"/proc/{pid}/status"), *Path("/proc").glob("[0-9]*/status")]:
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if status.parent.name == str(pid) or fields.get("PPid", "").strip() == str(pid):
            total += int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    return total


async def phase(
    port: int, side: str, cands: list[Candidate], chunks: list[bytes], count: int, args: argparse.Namespace,
    server_pid: int,
) -> dict[str, Any]:  # fmt: skip
    digests = [hashlib.sha256(c).hexdigest() for c in chunks]
    latencies: list[float] = []
    errors: list[str] = []
    remaining, rss_max = [count], [0]
    cpu0, started = cpu_seconds(server_pid), time.perf_counter()

    async def candidate(i: int, cand: Candidate) -> None:
        conn = RawConnection(port)
        due = started + (i * args.interval / len(cands) if args.mode == "paced" else 0.0)
        try:
            while remaining[0] > 0:
                if args.mode == "paced":
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    due += args.interval
                remaining[0] -= 1
                seq = cand.next_seq
                n = 0 if seq == 0 else 1 + (seq - 1) % (len(chunks) - 1)
                headers = {"Authorization": f"Bearer {cand.token}", "Content-Type": MIME,
                           "X-Chunk-Sha256": digests[n]}  # fmt: skip
                path = f"/api/Proctor/video-chunk/{cand.attempt}?segment=0&seq={seq}"
                if side == "bare":
                    path = f"/upload/{cand.attempt}"
                t0 = time.perf_counter()
                try:
                    status, data = await conn.request("POST", path, headers, chunks[n])
                except Exception as exc:
                    await conn.close()
                    errors.append(repr(exc)[:200])
                    continue
                if status == 201:
                    latencies.append(time.perf_counter() - t0)
                    if side == "product":
                        cand.acknowledged.add(seq)
                        cand.next_seq += 1
                else:
                    errors.append(f"{status} {data[:200].decode(errors='replace')}")
        finally:
            await conn.close()

    async def watch_rss() -> None:
        while True:
            rss_max[0] = max(rss_max[0], rss_bytes(server_pid))
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch_rss())
    tasks = [asyncio.create_task(candidate(i, c)) for i, c in enumerate(cands)]
    _, pending = await asyncio.wait(tasks, timeout=args.phase_timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if pending:
        errors.append(f"phase timeout after {args.phase_timeout:.0f}s")
    wall = time.perf_counter() - started
    watcher.cancel()
    rss_max[0] = max(rss_max[0], rss_bytes(server_pid))
    cpu = (cpu_seconds(server_pid) - cpu0) / max(1, len(latencies))
    return {"ok": len(latencies), "wall": wall, "rate": len(latencies) / wall, "latencies": latencies,
            "errors": errors, "rss": rss_max[0], "cpu": cpu}  # fmt: skip


def check_product(server: ProductServer, data_dir: Path, cands: list[Candidate]) -> tuple[int, int, int]:
    """(chunks acknowledged, chunk files on disk, candidates whose status differs from their 201s)."""
    acknowledged = sum(len(c.acknowledged) for c in cands)
    files = sum(1 for _ in (data_dir / "MediaStorage" / "video-recordings").glob("*/chunks/*"))
    wrong = 0
    for c in cands:
        status, out = sync_get_json(server.base_url, f"/api/Proctor/video-chunk/{c.attempt}/status", c.token)
        held = set(out["segments"][0]["received"]) if status == 200 and out["segments"] else set()
        wrong += held != c.acknowledged
    return acknowledged, files, wrong


def parse_args() -> argparse.Namespace:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--candidates", default="300,1000", help="comma-separated counts (default 300,1000)")
    parser.add_argument("--chunks", type=int, default=1500, help="chunks per phase and side (default 1500)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating product/bare rounds (default 2)")
    parser.add_argument("--warmup", type=int, default=300, help="untimed chunks per side first (default 300)")
    parser.add_argument("--chunk-bytes", type=int, default=200_000, help="chunk size (default 200000)")
    parser.add_argument("--mode", choices=("closed", "paced"), default="closed")
    parser.add_argument("--interval", type=float, default=3.0, help="paced: s between chunks")
    add_server_options(parser)
    parser.add_argument("--phase-timeout", type=float, default=180.0, help="max seconds per timed phase")
    parser.add_argument("--max-seconds", type=float, default=1200.0, help="watchdog for the whole run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (store, media, logs)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    clean_environment()
    raise_fd_limit()
    counts = [int(c) for c in args.candidates.split(",")]
    load = os.getloadavg()[0]
    print(f"chunk ingest benchmark {time.strftime('%Y-%m-%d %H:%M:%S')} | {machine_line()} | "
          f"load average {load:.2f} (a shared machine: figures are noisy)", flush=True)  # fmt: skip
    base = bench_tempdir("bench-chunks-")
    chunks = make_chunks(base, args.chunk_bytes, 12)
    print(f"=== sqlite, mode {args.mode}, {args.rounds} rounds x {args.chunks} chunks per side and count, "
          f"{len(chunks)} real Matroska chunks of {args.chunk_bytes} bytes", flush=True)  # fmt: skip
    figures: dict[str, Any] = {"mode": args.mode, "chunk_bytes": args.chunk_bytes, "counts": {}}
    rows = [("measure", "result", "target", "verdict")]
    server: ProductServer | None = None
    bare: BareServer | None = None
    with Watchdog(args.max_seconds):
        try:
            t0 = time.monotonic()
            cands = prepare(base / "product", max(counts))
            print(f"    prepared {len(cands)} candidates in {time.monotonic() - t0:.0f}s: {base}", flush=True)
            server = product_server(args, base / "product", "").start()
            bare = BareServer(base / "bare")
            assert server.proc is not None
            sides = {"product": (server.port, server.proc.pid), "bare": (bare.port, bare.proc.pid)}
            for n in counts:
                group = cands[:n]

                def run(side: str, count: int, group: list[Candidate] = group) -> dict[str, Any]:
                    port, pid = sides[side]
                    return asyncio.run(phase(port, side, group, chunks, count, args, pid))

                for side in sides:
                    run(side, args.warmup)
                rounds = []
                for r in range(args.rounds):
                    order = list(sides) if r % 2 == 0 else list(reversed(sides))
                    rounds.append({side: run(side, args.chunks) for side in order})
                    line = "  ".join(f"{s} {x['rate']:.0f}/s p99 {ms(latency_summary(x['latencies'])['p99'])}"
                                     f" err {len(x['errors'])}" for s, x in rounds[-1].items())  # fmt: skip
                    print(f"    {n} candidates, round {r + 1}: {line}", flush=True)
                ratio = median([x["product"]["rate"] / x["bare"]["rate"] for x in rounds])
                stats = {s: latency_summary([v for x in rounds for v in x[s]["latencies"]]) for s in sides}
                rate = {s: median([x[s]["rate"] for x in rounds]) for s in sides}
                rss = {s: max(x[s]["rss"] for x in rounds) / 2**20 for s in sides}
                cpu = {s: median([x[s]["cpu"] for x in rounds]) for s in sides}
                errors = [e for x in rounds for e in x["product"]["errors"]]
                figures["counts"][n] = {"rate": rate, "ratio": ratio, "latency": stats, "rss_mb": rss,
                                        "cpu_s": cpu, "product_errors": errors[:20]}  # fmt: skip
                p50, p99 = ({s: ms(stats[s][p]) for s in sides} for p in ("p50", "p99"))
                fast = rate["product"] >= 333
                rows += [
                    (f"{n} cand: product chunks/s", f"{rate['product']:.0f}", ">= 333", verdict(fast)),
                    (f"{n} cand: bare chunks/s", f"{rate['bare']:.0f}", "", ""),
                    (f"{n} cand: product/bare", f"{ratio:.2f}", ">= 0.5", verdict(ratio >= 0.5)),
                    (f"{n} cand: product p50 / p99", f"{p50['product']} / {p99['product']}", "", ""),
                    (f"{n} cand: bare p50 / p99", f"{p50['bare']} / {p99['bare']}", "", ""),
                    (f"{n} cand: RSS product / bare", f"{rss['product']:.0f} / {rss['bare']:.0f} MB", "", ""),
                    (f"{n} cand: CPU/chunk product / bare", " / ".join(ms(cpu[s]) for s in sides), "", ""),
                    (f"{n} cand: product errors", str(len(errors)), "0", verdict(not errors)),
                ]  # fmt: skip
            acknowledged, files, wrong = check_product(server, base / "product", cands)
            held, ok = f"{acknowledged} / {files} / {wrong} differ", acknowledged == files and wrong == 0
            rows.append(("201s / chunk files / status lists", held, "equal, 0", verdict(ok)))
            problems = server.log_lines("ERROR") + server.log_lines("Traceback")
        finally:
            if bare is not None:
                bare.stop()
            if server is not None:
                server.stop()
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return summarize(
        "figures and ratios measured side by side in this run; 2 shared cores",
        rows,
        problems,
        figures,
        args.json,
        args.strict,
    )


if __name__ == "__main__":
    sys.exit(main())
