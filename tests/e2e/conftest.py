"""End-to-end harness: the real server in a subprocess and Debian's Chromium driven by Playwright.

Fixtures (module scope unless noted):
  live_server          `python -m interfaces.cli demo` on a free 127.0.0.1 port, fresh data dir;
                       `.url`, `.data_dir`, `.log_path`, `.token(username)` (Bearer, cached),
                       `.stop()` / `.start()` (a restart on the same port and data dir);
                       `serving(CHUNK_SECONDS="3", ...)` makes one with other settings
  browser              Chromium with a fake camera that is allowed without a prompt
  browser_no_fake_ui   the same without --use-fake-ui-for-media-stream (camera prompt denied)
  context (function)   a fresh browser context of `browser`, bounded default timeouts
  fresh_exam (function) make() -> title of a new proctored exam; attempts appended to
                       `fresh_exam.attempts` are force-ended at teardown
Helpers (import with `from e2e_conftest import ...`): login(context_or_page, live_server,
username, password) -> Page, through the /login form; new_context(browser); http_json(...).

Every test here is marked `browser`. Missing Chromium or Playwright skips locally and fails in CI
(CI=true). In CI the run must happen in a loopback-only network namespace (./test.sh wraps
pytest in `unshare -n`); that is checked before any browser starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from e2e_network import http_json, interfaces_up
from helpers import in_ci, skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
DEMO_PASSWORD = "demo-pass-2026"
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 10.0
DEFAULT_TIMEOUT_MS = 15_000

BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
FAKE_UI = "--use-fake-ui-for-media-stream"

# Several conftest.py files share the module name `conftest`: test modules import this one as
# `from e2e_conftest import login, new_context, ...` (registered below, stable whatever the order).
sys.modules.setdefault("e2e_conftest", sys.modules[__name__])


# -- markers and the network rule ------------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents and item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session", autouse=True)
def _loopback_only_network() -> None:
    if not in_ci():
        return
    up = interfaces_up()
    if up != ["lo"]:
        pytest.fail(
            f"e2e tests must run in a loopback-only network namespace (unshare -n, then "
            f"`ip link set lo up`); interfaces up here: {up}",
            pytrace=False,
        )


# -- the server ------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        return http_json(method, self.url + path, body, token)

    def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        """A Bearer token for `username` (cached: the server throttles logins per minute)."""
        if username not in self._tokens:
            status, body = self.api("POST", "/api/auth/login", {"username": username, "password": password})
            assert status == 200, f"API login as {username} failed: {status} {body}"
            self._tokens[username] = body["accessToken"]
        return self._tokens[username]

    def force_end(self, attempt_id: str) -> tuple[int, Any]:
        """Ends an attempt as admin (test cleanup): 200, or 409 when it had ended already."""
        path = f"/api/attempt-control/{attempt_id}/force-end"
        return self.api("POST", path, {"reason": "e2e cleanup"}, self.token("admin"))

    def stop(self) -> None:
        """Stops the server process (SIGTERM, then SIGKILL after SHUTDOWN_TIMEOUT)."""
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(SHUTDOWN_TIMEOUT)

    def start(self) -> None:
        """(Re)starts the server on the same port, data dir and settings; returns once healthy."""
        cmd = [sys.executable, "-m", "interfaces.cli", "demo", "--host", "127.0.0.1", "--port"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*cmd, str(self.port)], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        _wait_healthy(self, self.process)


def _wait_healthy(server: LiveServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            status, body = http_json("GET", server.url + "/healthz", timeout=2)
            if status == 200:
                return
            last = f"{status} {body}"
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.2)
    pytest.fail(f"the server was not healthy within {STARTUP_TIMEOUT:.0f} s ({last}):\n{server.log_tail()}")


@contextlib.contextmanager
def serving(**settings: str) -> Iterator[LiveServer]:
    """`python -m interfaces.cli demo` on a free port with a fresh data dir; `settings` are extra
    SMART_EXAM_* variables (e.g. CHUNK_SECONDS="3"). Stopped and removed afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="smart-exam-e2e-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMART_EXAM_", "SMARTEXAM_"))}
    env.update(
        SMART_EXAM_DATA_DIR=str(data_dir),
        SMART_EXAM_SNAPSHOT_INTERVAL_SECONDS="5",
        SMART_EXAM_EXPIRY_SWEEP_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"SMART_EXAM_{name}": value for name, value in settings.items()})
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(key, None)
    server = LiveServer(f"http://127.0.0.1:{_free_port()}", data_dir, data_dir / "server.log", env)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    with serving() as server:
        yield server


# -- the browser -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _playwright() -> Iterator[Any]:
    """One Playwright driver for the session (the sync API allows only one per thread)."""
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright for Python is not installed (pip install playwright)")
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        with contextlib.suppress(Exception):
            pw.stop()


def _launch(pw: Any, fake_ui: bool) -> Any:
    args = [*BASE_ARGS, FAKE_UI] if fake_ui else list(BASE_ARGS)
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args, timeout=60_000)


@pytest.fixture(scope="module")
def browser(_playwright: Any) -> Iterator[Any]:
    b = _launch(_playwright, fake_ui=True)
    try:
        yield b
    finally:
        with contextlib.suppress(Exception):
            b.close()


@pytest.fixture(scope="module")
def browser_no_fake_ui(_playwright: Any) -> Iterator[Any]:
    b = _launch(_playwright, fake_ui=False)
    try:
        yield b
    finally:
        with contextlib.suppress(Exception):
            b.close()


def new_context(browser: Any, **kwargs: Any) -> Any:
    """A context with bounded default timeouts and a desktop-sized viewport."""
    kwargs.setdefault("viewport", {"width": 1280, "height": 900})
    ctx = browser.new_context(**kwargs)
    ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    return ctx


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = new_context(browser)
    try:
        yield ctx
    finally:
        with contextlib.suppress(Exception):
            ctx.close()


@pytest.fixture
def fresh_exam(live_server: LiveServer) -> Iterator[Any]:
    """make() creates a proctored exam (as the admin) with a unique title; every attempt id a test
    appends to `fresh_exam.attempts` is force-ended at teardown, so the next test starts with no
    active session (the Proctor Center then shows its sample cards)."""
    admin = live_server.token("admin")
    attempts: list[str] = []

    def make() -> str:
        title = f"E2E proctoring {uuid.uuid4().hex[:8]}"
        status, body = live_server.api("POST", "/api/exams", {
            "title": title, "durationSeconds": 1800, "proctoringEnabled": True,
            "questions": [{"id": "q1", "text": "Two plus two?", "choices": ["3", "4"], "answer": 1}],
        }, token=admin)  # fmt: skip
        assert status == 201, (status, body)
        return title

    make.attempts = attempts  # type: ignore[attr-defined]
    yield make
    for attempt_id in attempts:
        status, body = live_server.force_end(attempt_id)
        assert status in (200, 409), (status, body)


def login(context_or_page: Any, live_server: LiveServer, username: str, password: str = DEMO_PASSWORD) -> Any:
    """Logs in through the /login form and returns the page (on the role's start page).

    A Page is reused; a BrowserContext (or Browser) gets a new page."""
    from playwright.sync_api import Page, expect

    if isinstance(context_or_page, Page):
        page = context_or_page
    else:
        page = context_or_page.new_page()
        page.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login(\?|$)"), timeout=DEFAULT_TIMEOUT_MS)
    return page
