"""The SSE benchmark's client process (run as `sse_fanout.py --_clients`): many raw asyncio
connections holding the Proctor Center stream open, each time-stamping the events it receives."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from _common import (
    HOST,
)

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
