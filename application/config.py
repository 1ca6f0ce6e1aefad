"""The one settings object. Nothing else in the product reads the environment."""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IceServer(BaseModel):
    """One RTCIceServer as the browser takes it. A turn:/turns: server without a username gets
    time-limited credentials made from SMART_EXAM_TURN_SECRET (coturn's use-auth-secret)."""

    model_config = ConfigDict(extra="forbid")
    urls: list[str] = Field(min_length=1)
    username: str | None = None
    credential: str | None = None

    @field_validator("urls", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("urls")
    @classmethod
    def _ice_schemes(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("stun:", "stuns:", "turn:", "turns:")):
                raise ValueError(f"{url!r} is not a stun:, stuns:, turn: or turns: address")
        return urls

    @property
    def is_turn(self) -> bool:
        return any(url.startswith(("turn:", "turns:")) for url in self.urls)


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMART_EXAM_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite files under data_dir
    media_root: Path | None = None  # default: data_dir / "MediaStorage"
    secret_key: str = ""  # empty: generated once and kept in data_dir
    enable_live_video: bool = True
    enable_video_recording: bool = True
    enable_sample_sessions: bool = True
    run_projections: bool = True  # false: this process only serves; `smart-exam worker` projects
    projection_process: bool | None = None  # None: a child process when there are >= 2 CPUs
    snapshot_interval_seconds: int = Field(60, ge=5)
    chunk_seconds: int = Field(3, ge=1)
    max_chunk_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    max_snapshot_bytes: int = Field(2 * 1024 * 1024, ge=1024)
    max_snapshot_pixels: int = Field(1920 * 1080, ge=1)
    retention_days: int = Field(30, ge=1, le=3650)  # until an admin sets it (Settings aggregate)
    # The daily retention sweep: "03:00" is UTC (every node agrees, no DST gap or repeat);
    # give an offset ("03:00+02:00") for another zone.
    retention_run_at: time = time(3, 0)
    expiry_sweep_seconds: float = Field(30.0, gt=0)
    # Snapshot files no event refers to (a crash mid-upload) are removed when older than this.
    orphan_sweep_seconds: float = Field(600.0, gt=0)
    orphan_min_age_minutes: float = Field(60.0, ge=1)
    finalize_grace_seconds: float = Field(30.0, ge=0)
    # A finalizer's claim: after it runs out another worker may claim again (a crashed one's
    # never returns). Longer than any ffmpeg run: 10 min of video remuxes in seconds.
    finalize_lease_seconds: float = Field(1800.0, gt=0)
    finalize_interval_seconds: float = Field(5.0, gt=0)  # how often the finalizer looks for work
    # Live video. ICE servers: JSON, e.g. '[{"urls": "stun:stun.example.org:3478"},
    # {"urls": ["turn:turn.example.org:3478?transport=udp"]}]'. With turn_secret (coturn's
    # static-auth-secret) each page gets TURN credentials valid for turn_ttl_seconds.
    ice_servers: list[IceServer] = []
    turn_secret: str = ""
    turn_ttl_seconds: int = Field(12 * 3600, ge=60)
    ice_transport_policy: Literal["all", "relay"] = "all"  # relay: media only through TURN
    # Origins besides the server's own that may open the live WebSocket (behind a proxy that
    # rewrites Host, say): JSON list, e.g. '["https://exams.example.org"]'.
    allowed_origins: list[str] = []
    ffmpeg: str = ""
    session_hours: float = Field(12.0, gt=0)
    # How long a process may trust its copy of a user's session version (revocation delay).
    session_check_seconds: float = Field(2.0, ge=0, le=10)
    risk_weights: dict[str, int] = {
        "tab_hidden": 10,
        "fullscreen_exit": 5,
        "camera_denied": 25,
        "flagged": 20,
    }
    sse_heartbeat_seconds: float = Field(15.0, gt=0)
    sse_client_queue: int = Field(256, ge=8)
    login_attempts_per_minute: int = Field(20, ge=1)  # failures per account (15 min) before backoff
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: JSON list of addresses or
    # networks, e.g. SMART_EXAM_TRUSTED_PROXIES='["127.0.0.1", "10.0.0.0/8"]'. Empty: none.
    trusted_proxies: list[IPvAnyNetwork] = []
    # Request limits (interfaces/middleware.py, and uvicorn in `smart-exam serve`).
    max_json_body_bytes: int = Field(64 * 1024, ge=1024)  # bodies of routes with a JSON model
    body_idle_timeout_seconds: float = Field(30.0, gt=0)  # no byte of the body for this long: 408
    body_total_timeout_seconds: float = Field(300.0, gt=0)  # the whole body within this: else 408
    max_header_bytes: int = Field(32 * 1024, ge=4096)  # request line + headers (h11 only)
    # h11 enforces max_header_bytes; httptools is faster but has no header limit: use it only
    # behind a proxy that limits headers (nginx does by default).
    http_parser: Literal["h11", "httptools"] = "h11"
    keep_alive_seconds: int = Field(5, ge=1)
    opentelemetry: bool = False  # FastAPI's native OpenTelemetry; on when you run an OTel SDK
    command_threads: int | None = Field(None, ge=0)  # default: 0 (the event loop) on SQLite, 4 on PG

    @property
    def command_concurrency(self) -> int:
        """SQLite commits one transaction at a time, and a thread hop costs more than a command:
        0 runs them on the event loop. PostgreSQL waits on the network: 4 threads."""
        if self.command_threads is not None:
            return self.command_threads
        return 4 if self.uses_postgres else 0

    @property
    def media_path(self) -> Path:
        return self.media_root or self.data_dir / "MediaStorage"

    @property
    def projections_in_own_process(self) -> bool:
        if self.projection_process is not None:
            return self.projection_process
        return (os.cpu_count() or 1) >= 2

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))
