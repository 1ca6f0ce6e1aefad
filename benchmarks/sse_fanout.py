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
import http.client
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
from _server import ProductServer, add_server_options, precreate_users, product_server

TARGET_P99 = 0.250
STREAM = "/api/Proctor/sessions/stream"


# -- the client process (--_clients) -------------------------------------------------------------
class SSEClient(asyncio.Protocol):
    """One SSE connection: HTTP/1.1 chunked decoding and SSE framing, kept minimal. The arrival
    time is taken when the bytes reach the process; parsing of `data` waits until the end."""

    def __init__(self, request: bytes, loop: asyncio.AbstractEventLoop) -> None:
        self.request = request
        self.ready = loop.create_future()
        self.lost = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.raw = bytearray()
        self.body = bytearray()
        self.headers_done = False
        self.chunked = False
        self.state = "size"
        self.left = 0
        self.status = 0
        self.events: list[tuple[float, bytes]] = []  # (arrival, data) of `session` events
        self.error = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport
        transport.write(self.request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(self.error or f"closed before snapshot ({exc})"))
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.raw += data
        if not self.headers_done:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.raw[:end]).decode("latin-1").lower()
            del self.raw[: end + 4]
            self.status = int(head.split(" ", 2)[1])
            self.chunked = "transfer-encoding: chunked" in head
            self.headers_done = True
            if self.status != 200:
                self.error = f"HTTP {self.status}: {head[:200]}"
                assert self.transport is not None
                self.transport.close()
                return
        if self.chunked:
            self._dechunk()
        else:
            self.body += self.raw
            self.raw.clear()
        self._frames(now)

    def _dechunk(self) -> None:
        raw = self.raw
        while raw:
            if self.state == "size":
                i = raw.find(b"\r\n")
                if i < 0:
                    return
                self.left = int(bytes(raw[:i]).split(b";")[0], 16)
                del raw[: i + 2]
                self.state = "data" if self.left else "end"
                if self.left == 0:
                    return
            elif self.state == "data":
                take = min(self.left, len(raw))
                self.body += raw[:take]
                del raw[:take]
                self.left -= take
                if self.left == 0:
                    self.state = "crlf"
            elif self.state == "crlf":
                if len(raw) < 2:
                    return
                del raw[:2]
                self.state = "size"
            else:
                return

    def _frames(self, now: float) -> None:
        body = self.body
        while True:
            i, sep = body.find(b"\r\n\r\n"), 4
            if i < 0:
                i, sep = body.find(b"\n\n"), 2
                if i < 0:
                    return
            block = bytes(body[:i])
            del body[: i + sep]
            if block.startswith(b":"):
                continue  # ping / comment
            if b"event: session" in block:
                start = block.find(b"data: ")
                self.events.append((now, block[start + 6 :].split(b"\r\n", 1)[0].split(b"\n", 1)[0]))
            elif b"event: snapshot" in block and not self.ready.done():
                self.ready.set_result(now)


async def client_main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    request = (
        f"GET {STREAM} HTTP/1.1\r\nHost: {HOST}:{args.port}\r\nAuthorization: Bearer {args.token}\r\n"
        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    ).encode()
    clients: list[SSEClient] = []
    failures: list[str] = []
    gate = asyncio.Semaphore(args.connect_parallel)

    async def connect() -> None:
        async with gate:
            client = SSEClient(request, loop)
            try:
                await asyncio.wait_for(loop.create_connection(lambda: client, HOST, args.port), 30)
                await asyncio.wait_for(client.ready, 30)
                clients.append(client)
            except Exception as exc:
                failures.append(repr(exc)[:200])
                if client.transport is not None:
                    client.transport.close()

    t0 = time.monotonic()
    await asyncio.gather(*(connect() for _ in range(args.n)))
    connect_s = time.monotonic() - t0
    print(
        "READY "
        + json.dumps(
            {
                "connected": len(clients),
                "failed": len(failures),
                "failures": failures[:5],
                "connect_s": connect_s,
            }
        ),
        flush=True,
    )
    cpu0 = time.process_time()

    # wait for "STOP <json flags>" on stdin (bounded by --max-seconds)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        line = await asyncio.wait_for(reader.readline(), args.max_seconds)
    except TimeoutError:
        line = b"STOP []"
    cpu = time.process_time() - cpu0
    flags = json.loads(line.decode().split(" ", 1)[1] or "[]")
    dropped = sum(1 for c in clients if c.lost.done())
    for c in clients:
        if c.transport is not None:
            c.transport.close()

    target = {f["attemptId"] for f in flags}
    latencies: list[float] = []
    exact_all = covered_all = 0
    per_event: list[list[float]] = [[] for _ in flags]
    for c in clients:
        seen = []
        for t, data in c.events:
            d = json.loads(data)
            if d.get("attemptId") in target:
                seen.append((t, int(d["position"])))
        positions = {p for _, p in seen}
        exact = covered = 0
        for k, f in enumerate(flags):
            exact += f["position"] in positions
            hit = next((t for t, p in seen if p >= f["position"]), None)
            if hit is not None:
                covered += 1
                latencies.append(hit - f["t_post"])
                per_event[k].append(hit)
        exact_all += exact == len(flags)
        covered_all += covered == len(flags)
    spreads = [max(ts) - min(ts) for ts in per_event if ts]
    print(
        "RESULT "
        + json.dumps(
            {
                "latencies": latencies,
                "clients": len(clients),
                "exact_all": exact_all,
                "covered_all": covered_all,
                "expected": len(clients) * len(flags),
                "delivered": len(latencies),
                "client_cpu": cpu,
                "dropped_by_server": dropped,
                "spreads": spreads,
            }
        ),
        flush=True,
    )


# -- the controller ------------------------------------------------------------------------------
class ClientProcs:
    def __init__(self, port: int, token: str, n: int, procs: int, args: argparse.Namespace) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        share = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
        for k in share:
            if k == 0:
                continue
            cmd = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--_clients",
                "--port",
                str(port),
                "--token",
                token,
                "--n",
                str(k),
                "--connect-parallel",
                str(args.connect_parallel),
                "--max-seconds",
                str(args.max_seconds),
            ]
            self.procs.append(
                subprocess.Popen(
                    cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
                )
            )

    def _line(self, proc: subprocess.Popen[str], prefix: str, timeout: float) -> dict[str, Any]:
        import selectors

        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not sel.select(max(0.0, deadline - time.monotonic())):
                    break
                line = proc.stdout.readline()
                if not line:
                    break
                if line.startswith(prefix + " "):
                    out: dict[str, Any] = json.loads(line[len(prefix) + 1 :])
                    return out
        raise RuntimeError(f"client process gave no {prefix} line within {timeout:.0f}s (exit {proc.poll()})")

    def ready(self, timeout: float) -> dict[str, Any]:
        parts = [self._line(p, "READY", timeout) for p in self.procs]
        return {
            "connected": sum(p["connected"] for p in parts),
            "failed": sum(p["failed"] for p in parts),
            "failures": [f for p in parts for f in p["failures"]][:5],
            "connect_s": max(p["connect_s"] for p in parts),
        }

    def cpu(self) -> float:
        from _common import cpu_seconds

        return sum(cpu_seconds(p.pid) for p in self.procs)

    def stop(self, flags: list[dict[str, Any]], timeout: float = 60) -> dict[str, Any]:
        for p in self.procs:
            assert p.stdin is not None
            p.stdin.write("STOP " + json.dumps(flags) + "\n")
            p.stdin.flush()
        parts = [self._line(p, "RESULT", timeout) for p in self.procs]
        self.close()
        out: dict[str, Any] = {"latencies": [x for p in parts for x in p["latencies"]], "spreads": []}
        for key in (
            "clients",
            "exact_all",
            "covered_all",
            "expected",
            "delivered",
            "client_cpu",
            "dropped_by_server",
        ):
            out[key] = sum(p[key] for p in parts)
        per_proc_spreads = [p["spreads"] for p in parts]
        out["spreads"] = (
            per_proc_spreads[0] if len(parts) == 1 else [max(s) for s in zip(*per_proc_spreads, strict=False)]
        )
        return out

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)


def flag_loop(
    server: ProductServer, proctor: str, attempt_id: str, k: int, spacing: float
) -> tuple[list[dict[str, Any]], list[float], list[str]]:
    flags, post_latency, errors = [], [], []
    conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
    headers = {"Authorization": f"Bearer {proctor}", "Content-Type": "application/json"}
    try:
        for i in range(k):
            body = json.dumps({"note": f"bench flag {i}"})
            t_post = time.monotonic()
            try:
                conn.request("POST", f"/api/Proctor/sessions/{attempt_id}/flag", body, headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"POST flag {i}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
                continue
            t_resp = time.monotonic()
            if resp.status != 200:
                errors.append(
                    f"POST /api/Proctor/sessions/{attempt_id}/flag -> {resp.status}: {data[:300]!r}"
                )
            else:
                flags.append(
                    {"attemptId": attempt_id, "position": json.loads(data)["position"], "t_post": t_post}
                )
                post_latency.append(t_resp - t_post)
            time.sleep(max(0.0, spacing - (time.monotonic() - t_post)))
    finally:
        conn.close()
    return flags, post_latency, errors


def run_phase(
    name: str, n: int, server: ProductServer, proctor: str, attempt_id: str, args: argparse.Namespace
) -> dict[str, Any]:
    procs = ClientProcs(server.port, proctor, n, min(args.client_procs, n), args)
    try:
        ready = procs.ready(timeout=min(args.max_seconds, 60 + n * 0.2))
        cpu_s0, cpu_c0, t0 = server.cpu(), procs.cpu(), time.monotonic()
        flags, post_lat, errors = flag_loop(server, proctor, attempt_id, args.events, args.spacing)
        time.sleep(args.settle)
        wall = time.monotonic() - t0
        cpu_s, cpu_c = server.cpu() - cpu_s0, procs.cpu() - cpu_c0
        result = procs.stop(flags)
    finally:
        procs.close()
    result.update(
        name=name,
        n=n,
        ready=ready,
        post_latency=post_lat,
        errors=errors,
        flags=len(flags),
        server_cpu=cpu_s / wall,
        client_cpu_share=cpu_c / wall,
    )
    s = latency_summary(result["latencies"])
    print(
        f"  {name:<16} {ready['connected']:>4} connected "
        f"({ready['failed']} failed, {ready['connect_s']:.1f}s) | "
        f"{result['flags']} flags | delivery p50 {ms(s['p50'])} p99 {ms(s['p99'])} max {ms(s['max'])} | "
        f"delivered {result['delivered']}/{result['expected']} | all events (exact/covered) "
        f"{result['exact_all']}/{result['covered_all']} of {result['clients']} | "
        f"fan-out spread p50 {ms(_med(result['spreads']))} | server CPU {result['server_cpu']:.0%}, "
        f"client CPU {result['client_cpu_share']:.0%}",
        flush=True,
    )
    for f in ready["failures"]:
        print(f"     connect failure: {f}")
    for e in errors[:5]:
        print(f"     ERROR {e}")
    return result


def _med(values: list[float]) -> float:
    from _common import median

    return median(values)


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
