"""A second WebRTC stack for the live-video tests: aiortc peers that speak LIVE_PROTOCOL.md over
`websockets` to a running server (Authorization: Bearer, no Origin header).

  AiortcViewer     recvonly video; counts decoded frames, time to the first one
  AiortcPublisher  sendonly synthetic video (aiortc's VideoStreamTrack); one RTCPeerConnection per
                   viewer hello (per gen), offers addressed with `to`

aiortc does not trickle (its SDP carries its candidates) and has no restartIce: an ICE-restart
request is answered with a hard reset. It gathers nothing on loopback unless told to
(`use_loopback_only`, called by every peer). Every wait here is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

import aioice.ice
import websockets
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.sdp import candidate_from_sdp

T = TypeVar("T")


def use_loopback_only() -> None:
    """aioice skips loopback addresses: in the loopback-only test namespace it would gather nothing."""
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]


def ws_url(base_url: str, attempt_id: str, client_id: str) -> str:
    return f"{base_url.replace('http://', 'ws://', 1)}/ws/proctor/live/{attempt_id}?peer={client_id}"


def _configuration(welcome: dict[str, Any]) -> RTCConfiguration:
    servers = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in welcome.get("iceServers", [])
    ]
    policy = RTCIceTransportPolicy(welcome.get("iceTransportPolicy", "all"))
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


async def _add_candidate(pc: RTCPeerConnection, candidate: dict[str, Any] | None) -> None:
    if not candidate or not candidate.get("candidate"):
        await pc.addIceCandidate(None)  # end of candidates
        return
    parsed = candidate_from_sdp(candidate["candidate"].split(":", 1)[1])
    parsed.sdpMid, parsed.sdpMLineIndex = candidate.get("sdpMid"), candidate.get("sdpMLineIndex")
    await pc.addIceCandidate(parsed)


def selected_local_types(pc: RTCPeerConnection) -> list[str]:
    """The local candidate type ('host', 'relay', ...) of each nominated ICE pair of `pc`."""
    types = []
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport._connection
        types += [pair.local_candidate.type for pair in connection._nominated.values()]
    return types


class _Peer:
    role = ""

    def __init__(self, base_url: str, attempt_id: str, token: str, client_id: str | None = None) -> None:
        use_loopback_only()
        self.url = ws_url(base_url, attempt_id, client_id or f"aiortc-{secrets.token_hex(6)}")
        self.token = token
        self.welcome: dict[str, Any] = {}
        self.close_code: int | None = None
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self, timeout: float = 10.0) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        self._ws = await asyncio.wait_for(websockets.connect(self.url, additional_headers=headers), timeout)
        self.welcome = json.loads(await asyncio.wait_for(self._ws.recv(), timeout))
        assert self.welcome.get("role") == self.role, self.welcome
        self._reader = asyncio.create_task(self._read())
        await self._on_welcome()
        return self.welcome

    async def send(self, message: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(message))

    async def _read(self) -> None:
        try:
            async for text in self._ws:
                message = json.loads(text)
                await self._on_message(message)
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self._ws.close_code
            self._changed.set()

    async def until(self, condition: Callable[[], T], timeout: float, what: str = "condition") -> T:
        """Waits (bounded) until `condition()` is truthy, re-checking on every change and every 50 ms."""
        deadline = time.monotonic() + timeout
        while not (value := condition()):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.role}: timed out after {timeout:.1f} s waiting for {what}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.05))
        return value

    async def _on_pc_state(self) -> None:
        self._changed.set()

    async def close(self, bye: bool = True) -> None:
        with contextlib.suppress(Exception):
            if bye and self._ws is not None:
                await self.send({"type": "bye"})
        await self._close_pcs()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5)

    async def _on_welcome(self) -> None: ...
    async def _on_message(self, message: dict[str, Any]) -> None: ...
    async def _close_pcs(self) -> None: ...


class AiortcViewer(_Peer):
    """Recvonly viewer (polite): answers the publisher's offers of the current gen; a hard restart,
    the publisher's bye or a hello from another publisher peer ⇒ gen + 1 and a new hello."""

    role = "viewer"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gen = 0
        self.publisher: str | None = None
        self.pc: RTCPeerConnection | None = None
        self.frames = 0
        self.size: tuple[int, int] = (0, 0)
        self.started_at = 0.0
        self.first_frame_at: float | None = None  # monotonic
        self._consumers: list[asyncio.Task[None]] = []

    @property
    def time_to_first_frame(self) -> float | None:
        return None if self.first_frame_at is None else self.first_frame_at - self.started_at

    async def start(self, timeout: float = 10.0) -> dict[str, Any]:
        self.started_at = time.monotonic()
        return await super().start(timeout)

    async def _on_welcome(self) -> None:
        await self.send({"type": "hello", "gen": self.gen})

    async def _on_message(self, message: dict[str, Any]) -> None:
        kind, sender = message["type"], message.get("from")
        if kind == "hello":
            if self.publisher not in (None, sender):
                self.publisher = sender
                await self.hard_reset()
                return
            self.publisher = sender
            await self.send({"type": "hello", "gen": self.gen})
        elif kind == "bye":  # the page's own bye, then the server's when its socket closes: once
            if sender == self.publisher and self.pc is not None:
                await self.hard_reset()
        elif message.get("gen") != self.gen or sender != (self.publisher or sender):
            return  # another generation or another page of the candidate
        elif kind == "offer":
            self.publisher = sender
            if self.pc is None:
                self.pc = RTCPeerConnection(_configuration(self.welcome))
                self.pc.on("connectionstatechange", self._on_pc_state)
                self.pc.on("track", self._on_track)
            await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            await self.send({"type": "answer", "sdp": self.pc.localDescription.sdp, "gen": self.gen})
        elif kind == "ice" and self.pc is not None and self.pc.remoteDescription is not None:
            await _add_candidate(self.pc, message.get("candidate"))
        elif kind == "restart":
            await self.hard_reset()  # aiortc cannot restart ICE: a new connection instead

    def _on_track(self, track: Any) -> None:
        if track.kind == "video":
            self._consumers.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: Any) -> None:
        with contextlib.suppress(Exception):  # MediaStreamError when the connection closes
            while True:
                frame = await track.recv()
                self.frames += 1
                self.size = (frame.width, frame.height)
                if self.first_frame_at is None:
                    self.first_frame_at = time.monotonic()
                self._changed.set()

    async def hard_reset(self) -> None:
        await self._close_pcs()
        self.gen += 1
        await self.send({"type": "hello", "gen": self.gen})

    async def _close_pcs(self) -> None:
        pc, self.pc = self.pc, None
        for task in self._consumers:
            task.cancel()
        self._consumers.clear()
        if pc is not None:
            await pc.close()

    async def frames_above(self, count: int, timeout: float = 10.0) -> int:
        await self.until(lambda: self.frames > count, timeout, f"more than {count} frames")
        return self.frames


class AiortcPublisher(_Peer):
    """Sendonly publisher (impolite): a viewer's hello with a gen it has no PC for ⇒ close the old
    PC of that viewer, a new one with the synthetic track, an offer addressed to the viewer."""

    role = "publisher"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.track = VideoStreamTrack()  # 640x480 at 30 fps
        self.pcs: dict[str, tuple[int, RTCPeerConnection]] = {}  # viewer peer -> (gen, pc)
        self.status = "connected"

    async def _on_welcome(self) -> None:
        await self.send({"type": "hello", "gen": 0})
        await self.send({"type": "status", "state": "connected"})  # available: signaling up, a track

    async def _on_message(self, message: dict[str, Any]) -> None:
        kind, viewer = message["type"], message.get("from")
        if viewer is None:
            return
        if kind == "hello":
            await self._on_hello(viewer, int(message.get("gen", 0)))
            return
        if kind == "bye":
            await self._drop(viewer)
            return
        gen, pc = self.pcs.get(viewer, (None, None))
        if pc is None or message.get("gen") != gen:
            return
        if kind == "answer":
            await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
        elif kind == "ice" and pc.remoteDescription is not None:
            await _add_candidate(pc, message.get("candidate"))
        elif kind == "restart":  # no restartIce in aiortc: ask the viewer to start over
            await self._drop(viewer)
            await self.send({"type": "restart", "hard": True, "gen": gen, "to": viewer})

    async def _on_hello(self, viewer: str, gen: int) -> None:
        known = self.pcs.get(viewer)
        if known is not None and known[0] == gen:
            return  # that viewer's socket came back: the connection goes on
        await self._drop(viewer)
        pc = RTCPeerConnection(_configuration(self.welcome))
        pc.on("connectionstatechange", self._on_pc_state)
        self.pcs[viewer] = (gen, pc)
        pc.addTransceiver(self.track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())  # gathers: candidates are in the SDP
        if self.pcs.get(viewer, (None, None))[1] is pc:
            await self.send({"type": "offer", "sdp": pc.localDescription.sdp, "gen": gen, "to": viewer})

    async def _drop(self, viewer: str) -> None:
        _, pc = self.pcs.pop(viewer, (None, None))
        if pc is not None:
            await pc.close()

    async def _on_pc_state(self) -> None:
        """Status = availability (LIVE_PROTOCOL): reconnecting while a viewer's link recovers."""
        states = [pc.connectionState for _, pc in self.pcs.values()]
        status = "reconnecting" if {"disconnected", "failed"} & set(states) else "connected"
        if status != self.status:
            self.status = status
            with contextlib.suppress(Exception):
                await self.send({"type": "status", "state": status})
        self._changed.set()

    def connected_viewers(self) -> int:
        return sum(pc.connectionState == "connected" for _, pc in self.pcs.values())

    async def _close_pcs(self) -> None:
        for viewer in list(self.pcs):
            await self._drop(viewer)
