"""create_app(settings): the FastAPI application; services live in the lifespan state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig

from adapters.ingest.chunks import chunk_intake
from adapters.ingest.snapshots import snapshot_intake
from adapters.runtime.bootstrap import bootstrap
from adapters.runtime.command_lane import CommandLane
from adapters.runtime.live_feed import CROSS_PROCESS_POLL_SECONDS, SAFETY_POLL_SECONDS, SessionFeed
from adapters.runtime.live_relay import LiveRelay
from adapters.runtime.services import Services
from application import users
from application.config import AppSettings
from application.live import LiveQuality
from interfaces.docs import install_docs
from interfaces.errors import install_error_handlers
from interfaces.middleware import RequestLimits, SecurityHeaders
from interfaces.openapi import install_openapi
from interfaces.routers import (
    admin,
    auth,
    evidence,
    exams,
    health,
    live,
    pages,
    proctor_sessions,
    recordings,
    snapshots,
    streams,
    video_chunks,
)
from interfaces.schemas import session_out
from interfaces.sessions import SessionVersions
from interfaces.throttle import LoginThrottle
from interfaces.tokens import TokenSigner

STATIC = Path(__file__).parent / "static"
# Routes are matched in order, at a cost per route: the hottest one comes first.
ROUTERS = (
    snapshots, video_chunks, health, auth, exams, streams, proctor_sessions, evidence, recordings, admin,
    live, pages,
)  # fmt: skip
log = logging.getLogger("smart_exam")


def _session_json(row: dict[str, Any]) -> dict[str, Any]:
    return session_out(row).model_dump(by_alias=True, mode="json")


def create_app(
    settings: AppSettings | None = None,
    build: Callable[[AppSettings], Services] = bootstrap,
) -> FastAPI:
    settings = settings or AppSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build(settings)
        app.state.services = services
        app.state.signer = TokenSigner(services.secret_key, settings.session_hours * 3600)
        app.state.sessions = SessionVersions(
            partial(users.session_version, services.app), settings.session_check_seconds
        )
        app.state.login_throttle = LoginThrottle(settings.login_attempts_per_minute)
        app.state.commands = commands = CommandLane(settings.command_concurrency)
        intake = snapshot_intake(services.app, services.media, settings, commands.run)
        app.state.snapshot_intake = intake
        app.state.chunk_intake = chunks = chunk_intake(services.app, services.media, settings, commands.run)
        services.start()
        poll = SAFETY_POLL_SECONDS if services.changes_are_signalled else CROSS_PROCESS_POLL_SECONDS
        app.state.feed = feed = SessionFeed(
            services.center, services.bus, settings.sse_client_queue, poll, _session_json
        )
        feed.start()
        app.state.live_relay = LiveRelay(services.bus)
        app.state.live_quality = LiveQuality()
        log.info("smart-exam ready (store: %s)", "PostgreSQL" if settings.uses_postgres else "SQLite")
        try:
            yield
        finally:
            feed.stop()
            intake.close()
            chunks.close()
            commands.close()
            services.close()

    # Off, FastAPI skips asking the OpenTelemetry providers on every request (~3% of a request).
    telemetry: TelemetryConfig | None = (
        None if settings.opentelemetry else {"tracing": False, "metrics": False, "logs": False}
    )
    app = FastAPI(
        title="Smart Exam Proctoring",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=telemetry,
        docs_url=None,  # served without a CDN by interfaces/docs.py
        redoc_url=None,
    )
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(
        RequestLimits,
        routes=[route for module in ROUTERS for route in module.router.routes],
        json_limit=settings.max_json_body_bytes,
        idle_timeout=settings.body_idle_timeout_seconds,
        total_timeout=settings.body_total_timeout_seconds,
    )
    app.add_middleware(SecurityHeaders, trusted_proxies=settings.trusted_proxies)
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_docs(app)
    return app
