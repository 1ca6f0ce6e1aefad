"""Two small ASGI middlewares every route inherits (pure ASGI: the snapshot route is hot).

SecurityHeaders: CSP (no inline script: the pages load ES modules from /static; style
attributes are allowed), nosniff, frame-ancestors / X-Frame-Options, Referrer-Policy,
Permissions-Policy (camera and microphone for this site only), HSTS when the browser came
over HTTPS (directly or through a trusted proxy). A route's own header wins.

RequestLimits: a route that declares a body model (JSON) gets at most `json_limit` bytes:
refused (413) before reading when Content-Length says more, or as soon as a chunked body
passes it. Routes without a body model read their body themselves (the ingest pipeline's
uploads) under their own caps. Every body must keep arriving: no byte for `idle_timeout`
seconds, or not all of it within `total_timeout`, ends the request (408).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from fastapi.routing import APIRoute
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interfaces.forwarded import Networks, is_https

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI and ReDoc start from one inline script of FastAPI's own page.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
DOCS_PATHS = ("/docs", "/redoc")


class BodyTimeout(HTTPException):
    """The body stopped arriving (slow or short): 408. An HTTPException, because FastAPI turns
    any other error while it reads a body into a 400."""

    def __init__(self) -> None:
        super().__init__(408, "the request body did not arrive in time", {"Connection": "close"})


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"this request body is over {limit} bytes", {"Connection": "close"})


class SecurityHeaders:
    def __init__(self, app: ASGIApp, trusted_proxies: Networks = ()) -> None:
        self.app = app
        self.proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"].startswith(DOCS_PATHS) else CSP
        https = is_https(HTTPConnection(scope), self.proxies)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON:
                    if name.decode() not in headers:
                        headers.raw.append((name, value))
                if "content-security-policy" not in headers:
                    headers.raw.append((b"content-security-policy", csp.encode()))
                if https:
                    headers.raw.append((b"strict-transport-security", b"max-age=31536000"))
            await send(message)

        await self.app(scope, receive, with_headers)


class RequestLimits:
    def __init__(
        self,
        app: ASGIApp,
        routes: Sequence[BaseRoute],  # the routers' own routes (FastAPI wraps included ones)
        json_limit: int = 64 * 1024,
        idle_timeout: float = 30.0,
        total_timeout: float = 300.0,
    ) -> None:
        self.app = app
        self.routes = routes
        self.json_limit = json_limit
        self.idle_timeout = idle_timeout
        self.total_timeout = total_timeout

    def _capped(self, scope: Scope) -> bool:
        """Whether the route this request goes to takes a body model (JSON) rather than its body."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return not isinstance(route, APIRoute) or route.body_field is not None
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == 0:
            await self.app(scope, receive, send)
            return
        limit = None
        if (declared is None or declared > self.json_limit) and self._capped(scope):
            if declared is not None:
                await _too_large(send, self.json_limit)
                return
            limit = self.json_limit
        await self.app(scope, self._bounded(receive, limit), send)

    def _bounded(self, receive: Receive, limit: int | None) -> Receive:
        deadline = time.monotonic() + self.total_timeout
        received = 0
        done = False

        async def bounded() -> Message:
            nonlocal received, done
            if done:  # the body is in: what follows is waiting for a disconnect (SSE, streams)
                return await receive()
            wait = min(self.idle_timeout, deadline - time.monotonic())
            try:
                async with asyncio.timeout(max(wait, 0.0)):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                done = not message.get("more_body", False)
                if limit is not None and received > limit:
                    raise BodyTooLarge(limit)
            return message

        return bounded


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) <= 18 else None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = (b'{"error":"PayloadTooLarge","detail":"this request body is over %d bytes"}' % limit)
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
