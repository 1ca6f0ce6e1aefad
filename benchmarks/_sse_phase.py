"""The SSE benchmark's controller side: the client processes, the flags that make events, and
one measured phase (N clients, K flags)."""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    HOST,
    ROOT,
    latency_summary,
    ms,
)
from _server import ProductServer


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
                str(Path(__file__).with_name("sse_fanout.py")),
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
