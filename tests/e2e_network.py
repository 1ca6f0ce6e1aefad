"""Loopback networking for the e2e tests: which interfaces are up in this network namespace (the
rule: only lo), and a small JSON client that never goes through a proxy."""

from __future__ import annotations

import fcntl
import json
import socket
import struct
import urllib.error
import urllib.request
from typing import Any

_IFF_UP = 0x1
_SIOCGIFFLAGS = 0x8913


def interfaces_up() -> list[str]:
    """Names of the network interfaces that are up in THIS network namespace.

    /sys/class/net is not used: after `unshare -n` without remounting sysfs it still lists the
    parent namespace's devices. if_nameindex() and SIOCGIFFLAGS ask the kernel for the caller's
    namespace."""
    up = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                req = struct.pack("16sH", name.encode()[:15], 0)
                flags = struct.unpack("16sH", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, req)[:18])[1]
            except OSError:
                continue
            if flags & _IFF_UP:
                up.append(name)
    return up


# Loopback only: never send anything through a proxy from these tests.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_json(
    method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 10.0
) -> tuple[int, Any]:
    """A small JSON client for fixtures and checks (no proxy, bounded)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with _NO_PROXY.open(req, timeout=timeout) as res:
            raw = res.read()
            return res.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw) if raw else None
        except ValueError:
            return err.code, raw.decode(errors="replace")
