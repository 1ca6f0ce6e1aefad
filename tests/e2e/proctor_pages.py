"""Helpers for the staff pages' browser tests (test_proctor_center.py, test_session_page.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

REAL_CARD = "[data-testid=session-card]:not(:has([data-testid=sample-badge]))"
SAMPLE_CARD = "[data-testid=session-card]:has([data-testid=sample-badge])"
TIMINGS: dict[str, float] = {}


def report_timings() -> Iterator[None]:
    """Body of a module-scoped autouse fixture: prints the measured waits after the module."""
    yield
    if TIMINGS:
        print("\nproctor-center timings (s): " + ", ".join(f"{k}={v:.2f}" for k, v in TIMINGS.items()))
        TIMINGS.clear()


def clocked(name: str, wait: Callable[[], Any]) -> Any:
    start = time.monotonic()
    result = wait()
    TIMINGS[name] = time.monotonic() - start
    return result


def start_exam(page: Any, live_server: Any, title: str) -> str:
    """The candidate starts `title` from the /exams page; returns the attempt id."""
    page.goto(f"{live_server.url}/exams")
    card = page.get_by_test_id("exam-card").filter(has_text=title)
    card.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/exam/[0-9a-f-]{36}$"), timeout=10_000)
    return page.url.rsplit("/", 1)[1]


def answer_dialog(page: Any, text: str) -> None:
    dialog = page.get_by_test_id("action-dialog")
    dialog.get_by_test_id("dialog-text").fill(text)
    dialog.get_by_test_id("dialog-confirm").click()


def image_loaded(locator: Any) -> bool:
    return bool(locator.evaluate("img => img.complete && img.naturalWidth > 0"))


def wait_count_above(locator: Any, value: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = int(locator.inner_text() or 0)
        if now > value:
            return now
        time.sleep(0.2)
    raise AssertionError(f"{locator} stayed at {locator.inner_text()} (wanted > {value}) for {timeout_s} s")
