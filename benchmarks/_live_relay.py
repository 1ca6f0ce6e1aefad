"""live.py, signaling part: how many small messages one server process relays between the two
sockets of an attempt (WS /ws/proctor/live/{attemptId}), with P attempts at once.

Each attempt has a publisher socket (the candidate, Bearer) and a viewer socket (a proctor).
Both send `ice` messages (~150 bytes; the publisher addresses its viewer with `to`); the send
time rides in `sdpMid` so the receiver (same process, same clock) takes the latency. A socket
may send 200 messages at once, then 50/s (the server's per-socket budget), so each socket sends
`per_socket` <= 190 as fast as it can: the load is P x 2 sockets, the figure is the delivered
messages per second of wall time from the first send to the last delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from _common import self_cpu_seconds
from _http import create_exam, sync_post_json

MAX_PER_SOCKET = 190  # under the 200-message burst of the server's per-socket budget


@dataclass
class Pair:
    attempt: str
    publisher: Any = None
    viewer: Any = None
    publisher_peer: str = ""
    viewer_peer: str = ""


@dataclass
class Tally:
    expected: int
    received: int = 0
    latencies: list[float] = field(default_factory=list)
    last_at: float = 0.0
    errors: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


def start_attempts(base_url: str, admin: str, candidate: str, count: int) -> list[str]:
    """`count` proctored exams and the candidate's attempt of each (outside any timing)."""
    attempts = []
    for i in range(count):
        exam = create_exam(base_url, admin, f"bench live {i} {secrets.token_hex(3)}")
        status, body = sync_post_json(base_url, f"/api/exams/{exam}/attempts", {}, candidate)
        if status not in (200, 201):
            raise RuntimeError(f"start attempt -> {status}: {body}")
        attempts.append(str(body["attemptId"]))
    return attempts


async def _connect(base_url: str, attempt: str, token: str) -> tuple[Any, str]:
    import websockets

    peer = f"bench-{secrets.token_hex(6)}"
    url = f"{base_url.replace('http://', 'ws://', 1)}/ws/proctor/live/{attempt}?peer={peer}"
    ws = await asyncio.wait_for(
        websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_queue=None), 20
    )
    welcome = json.loads(await asyncio.wait_for(ws.recv(), 20))
    return ws, str(welcome["peer"])


async def open_pairs(
    pub_url: str, view_url: str, attempts: list[str], candidate: str, proctor: str
) -> list[Pair]:
    pairs = [Pair(a) for a in attempts]
    for pair in pairs:
        pair.publisher, pair.publisher_peer = await _connect(pub_url, pair.attempt, candidate)
        pair.viewer, pair.viewer_peer = await _connect(view_url, pair.attempt, proctor)
    return pairs


def _message(k: int, to: str | None) -> str:
    body: dict[str, Any] = {
        "type": "ice",
        "candidate": {
            "candidate": f"candidate:{k} 1 udp 2122260223 127.0.0.1 {40000 + k % 20000} typ host",
            "sdpMid": str(time.perf_counter_ns()),
            "sdpMLineIndex": 0,
            "usernameFragment": "bench",
        },
        "gen": 0,
    }
    if to:
        body["to"] = to
    return json.dumps(body, separators=(",", ":"))


async def _send(ws: Any, count: int, to: str | None) -> None:
    for k in range(count):
        await ws.send(_message(k, to))


async def _receive(ws: Any, tally: Tally, deadline: float) -> None:
    while tally.received < tally.expected:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            text = await asyncio.wait_for(ws.recv(), left)
        except (TimeoutError, Exception) as exc:  # closed by the server, or the time is up
            if not isinstance(exc, asyncio.TimeoutError):
                tally.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            return
        message = json.loads(text)
        if message.get("type") != "ice":
            continue
        now = time.perf_counter_ns()
        tally.received += 1
        tally.latencies.append((now - int(message["candidate"]["sdpMid"])) / 1e9)
        tally.last_at = time.monotonic()


async def burst(pairs: list[Pair], per_socket: int, timeout: float, server_cpu: Any) -> dict[str, Any]:
    """Every socket sends `per_socket` messages at once; returns msgs/s, latency, CPU shares."""
    per_socket = min(per_socket, MAX_PER_SOCKET)
    tally = Tally(expected=2 * len(pairs) * per_socket)
    cpu0, client0, t0 = server_cpu(), self_cpu_seconds(), time.monotonic()
    deadline = t0 + timeout
    receivers = [
        asyncio.create_task(_receive(ws, tally, deadline)) for p in pairs for ws in (p.publisher, p.viewer)
    ]
    senders = [_send(p.publisher, per_socket, p.viewer_peer) for p in pairs]
    senders += [_send(p.viewer, per_socket, None) for p in pairs]
    try:
        await asyncio.wait_for(asyncio.gather(*senders), timeout)
    except Exception as exc:
        tally.errors.append(f"send: {type(exc).__name__}: {exc}"[:200])
    await asyncio.gather(*receivers)
    wall = max((tally.last_at or time.monotonic()) - t0, 1e-9)
    return {
        "sockets": 2 * len(pairs),
        "sent": tally.expected,
        "delivered": tally.received,
        "rate": tally.received / wall,
        "wall_s": wall,
        "latencies": tally.latencies,
        "server_cpu_share": (server_cpu() - cpu0) / wall,
        "client_cpu_share": (self_cpu_seconds() - client0) / wall,
        "errors": tally.errors[:10],
    }


async def close_pairs(pairs: list[Pair]) -> None:
    for pair in pairs:
        for ws in (pair.publisher, pair.viewer):
            if ws is not None:
                with contextlib.suppress(Exception):  # closing on the way out
                    await asyncio.wait_for(ws.close(), 5)
